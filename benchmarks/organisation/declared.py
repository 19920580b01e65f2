"""What SecOps declares for a generated organisation: keys, contracts, inventory, trust policy.

:func:`declare` writes the signing keys (``keys/``), the contract revisions (``contracts/``)
and the inventory, publishes contracts and inventory into the store signed with SecOps's key
(as ``attestlake contract push`` and ``inventory push`` do), and writes the trust policy
``trust.yaml`` beside the store: the CI key for every project, Sigstore identities of the
organisation's GitHub workflows (issued by a private Sigstore instance whose
``trusted_root.json`` it writes), SecOps's key for what is published. The rogue key signs
runs too, but no policy names it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import yaml

from attestlake.contracts.contracts import load_contract
from attestlake.contracts.inventory import parse_inventory
from attestlake.contracts.publish import publish, publish_contract
from attestlake.demo.demo import new_key
from attestlake.store.layout import LayoutStore
from benchmarks.organisation.plan import ORGANISATION, Plan

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
KEYS = ("ci", "rogue", "secops")
_IMAGE = {"type": "CONTAINER_IMAGE", "name": "image", "output": True}
_SBOM = {"type": "SBOM_CYCLONEDX_JSON", "name": "sbom"}
_TESTS = {"type": "JUNIT_XML", "name": "tests", "optional": True}
#: Each contract's revisions: revision 2 asks for an SBOM (image-quick: optionally).
CONTRACT_SPECS: dict[str, tuple[dict[str, object], ...]] = {
    "container-build": (
        {"materials": [_IMAGE, _TESTS], "envAllowList": ["DEPLOY_ENV"]},
        {
            "materials": [_IMAGE, _SBOM, _TESTS],
            "envAllowList": ["DEPLOY_ENV"],
            "annotations": [{"name": "compliance-tier", "value": "standard"}],
        },
    ),
    "image-quick": (
        {"materials": [_IMAGE]},
        {"materials": [_IMAGE, {**_SBOM, "optional": True}]},
    ),
    "library-release": (
        {
            "materials": [
                {"type": "ARTIFACT", "name": "package", "output": True},
                {"type": "STRING", "name": "version"},
            ]
        },
        {
            "materials": [
                {"type": "ARTIFACT", "name": "package", "output": True},
                _SBOM,
                {"type": "STRING", "name": "version"},
            ]
        },
    ),
}


def _contracts(directory: Path) -> list[Path]:
    directory.mkdir()
    out = []
    for name, revisions in CONTRACT_SPECS.items():
        for revision, spec in enumerate(revisions, start=1):
            doc = {
                "apiVersion": "attestlake.dev/v1",
                "kind": "Contract",
                "metadata": {"name": name, "revision": revision},
                "spec": spec,
            }
            path = directory / f"{name}.v{revision}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
            out.append(path)
    return out


def inventory_yaml(plan: Plan) -> bytes:
    """Every workflow of the plan, owned by its team, plus one announced and never integrated."""
    workflows = [
        {
            "workflow": p.workflow.name,
            "project": p.workflow.project,
            "team": p.workflow.team,
            "owner": f"{p.workflow.team}@{ORGANISATION}.example",
            "contract": p.workflow.contract,
            "cadence": "daily",
        }
        for p in plan.workflows
    ]
    workflows.append({**workflows[0], "workflow": "announced-build", "project": "announced"})
    doc = {
        "apiVersion": "attestlake.dev/v1",
        "kind": "Inventory",
        "metadata": {"name": ORGANISATION},
        "workflows": workflows,
    }
    return yaml.safe_dump(doc, sort_keys=False).encode()


TRUST_POLICY = """\
# Trust policy of the generated organisation: the CI key and the organisation's GitHub
# workflows (keyless, private Sigstore instance) for every project; SecOps's key for the
# contracts and inventory published to the store.
trusted_root: trusted_root.json
declared_state:
  stores: [oci:store]
  keys: [keys/secops.pub]
keys:
  - path: keys/ci.pub
identities:
  - issuer: {issuer}
    subject_regex: ^https://github\\.com/{organisation}/
"""


def declare(directory: Path, plan: Plan, now: datetime, trusted_root: bytes) -> LayoutStore:
    """Write keys, contracts, inventory and trust policy; publish into ``directory/store``."""
    keys = directory / "keys"
    keys.mkdir()
    secops = {name: new_key(keys, name) for name in KEYS}["secops"]
    store = LayoutStore(directory / "store")
    published = now - timedelta(days=plan.days + 30)
    for path in _contracts(directory / "contracts"):
        contract = load_contract(path)
        when = published + timedelta(days=contract.revision)
        publish_contract(store, contract, now=when, signer=secops)
    raw = inventory_yaml(plan)
    (directory / "inventory.yaml").write_bytes(raw)
    inventory = parse_inventory(raw, source="inventory.yaml")
    publish(store, "inventory", inventory.name, inventory.raw, now=published, signer=secops)
    (directory / "trusted_root.json").write_bytes(trusted_root)
    policy = TRUST_POLICY.format(issuer=GITHUB_ISSUER, organisation=ORGANISATION)
    (directory / "trust.yaml").write_text(policy, encoding="utf-8")
    return store
