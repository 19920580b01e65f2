"""The deploy gate straight from a real OCI registry (``gate IMAGE --from REPO``): SecOps
publishes the contract and inventory signed to its repository, CI pushes runs for images in
the registry; an image a verified run built passes, found through the run records or through
the image's own referrers; an unattested image, and one whose only statement is unsigned,
forged or signed by an untrusted key, or whose run violates a gating policy, is refused with
the reason. Every answer is the one ``gate --lake`` gives after a crawl of the same stores."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from attestlake import open_lake
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store import Descriptor, Manifest
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE
from attestlake.store.registry import RegistryStore
from tests import assets
from tests.integration.cli_helpers import GITHUB_ENV, Result, run_cli
from tests.integration.collector_helpers import push_image
from tests.integration.registry_server import RegistryServer

pytestmark = pytest.mark.registry

CONTRACT = """apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: app-build
spec:
  materials:
    - type: CONTAINER_IMAGE
      name: image
      output: true
    - type: SBOM_CYCLONEDX_JSON
      name: sbom
"""
INVENTORY = """apiVersion: attestlake.dev/v1
kind: Inventory
workflows:
  - {workflow: build, project: app, team: web, contract: app-build, cadence: daily}
"""


def _sbom_of(digest: str) -> str:
    """A CycloneDX SBOM whose main component is the image with ``digest``."""
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": {
                "component": {
                    "type": "container",
                    "name": "app",
                    "hashes": [{"alg": "SHA-256", "content": digest.removeprefix("sha256:")}],
                }
            },
            "components": [{"name": "zlib", "purl": "pkg:deb/debian/zlib@1.2.13"}],
        }
    )


@dataclass(frozen=True)
class Org:
    """The workspace, its repositories and the digest of each image (by tag)."""

    cwd: Path
    host: str
    prefix: str
    images: dict[str, str]

    def repo(self, name: str) -> str:
        return f"{self.host}/{self.prefix}/{name}"


def _run(org: Org, tag: str, run_id: int, sbom: str, key: str) -> Result:
    """One CI run that built ``app:tag``, pushed to the runs repository signed with ``key``."""
    env = {**GITHUB_ENV, "GITHUB_RUN_ID": str(run_id)}
    (org.cwd / "sbom.json").write_text(sbom)
    for args in (
        ("attest", "init", "--contract", "contract.yaml", "--workflow", "build",
         "--project", "app", "--team", "web"),
        ("attest", "add", "--name", "image", "--value", f"{org.repo('app')}:{tag}"),
        ("attest", "add", "--name", "sbom", "--value", "sbom.json"),
    ):  # fmt: skip
        done = run_cli(org.cwd, *args, env=env)
        assert done.code == 0, done.err
    return run_cli(
        org.cwd, "attest", "push", "--key", key, "--to", org.repo("runs"),
        "--bundle-out", f"run-{run_id}.json", env=env,
    )  # fmt: skip


def _put_envelope(url: str, repository: str, tag: str, envelope: dict[str, object]) -> None:
    """An envelope pushed by hand as a run record would be, under ``tag``."""
    data = json.dumps(envelope).encode()
    store = RegistryStore(url, repository)
    try:
        store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
        store.put_blob(data, ENVELOPE_MEDIA_TYPE)
        layer = Descriptor.for_bytes(ENVELOPE_MEDIA_TYPE, data)
        manifest = Manifest.build(
            artifact_type="application/vnd.attestlake.attestation.v1", layers=[layer],
            annotations={},
        )  # fmt: skip
        store.put_manifest(manifest, tag=tag)
    finally:
        store.close()


def _claiming(envelope: dict[str, object], digest: str, run_id: str) -> dict[str, object]:
    """``envelope`` with its statement changed to claim ``digest`` (signatures kept)."""
    statement = json.loads(base64.b64decode(str(envelope["payload"])))
    statement["subject"][0]["digest"] = {"sha256": digest.removeprefix("sha256:")}
    statement["predicate"]["runId"] = run_id
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    return {**envelope, "payload": payload}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory, registry: RegistryServer) -> Org:
    cwd = tmp_path_factory.mktemp("gate-registry")
    prefix = f"gate-{uuid.uuid4().hex[:8]}"
    images = {
        tag: push_image(registry.url, f"{prefix}/app", tag, content=tag.encode())
        for tag in ("good", "nosbom", "unattested", "rogue", "unsigned", "forged")
    }
    made = Org(cwd, registry.host, prefix, images)
    for name in ("ci", "secops", "rogue"):
        assert run_cli(cwd, "keys", "generate", "--out", name).code == 0
    (cwd / "trust.yaml").write_text(
        f"declared_state:\n  stores: [{made.repo('secops')}]\n  keys: [secops.pub]\n"
        "keys:\n  - path: ci.pub\n"
    )
    (cwd / "contract.yaml").write_text(CONTRACT)
    (cwd / "inventory.yaml").write_text(INVENTORY)
    for what, file in (("contract", "contract.yaml"), ("inventory", "inventory.yaml")):
        out = run_cli(cwd, what, "push", file, "--to", made.repo("secops"), "--key", "secops.key")
        assert out.code == 0, out.err
    assert _run(made, "good", 1, _sbom_of(images["good"]), "ci.key").code == 0
    other = assets.path("sboms/cyclonedx-two-debian-libs.json").read_text()
    assert _run(made, "nosbom", 2, other, "ci.key").code == 0  # its SBOM is of something else
    assert _run(made, "rogue", 3, _sbom_of(images["rogue"]), "rogue.key").code == 0
    genuine = json.loads((cwd / "run-1.json").read_text())
    repository = f"{prefix}/runs"
    forged = _claiming(genuine, images["forged"], "forged-run")
    _put_envelope(registry.url, repository, "run-forged-run", forged)
    unsigned = {**_claiming(genuine, images["unsigned"], "unsigned-run"), "signatures": []}
    _put_envelope(registry.url, repository, "run-unsigned-run", unsigned)
    return made


def _gate(org: Org, tag: str, *source: str) -> Result:
    subject = f"{org.repo('app')}:{tag}"
    return run_cli(org.cwd, "gate", subject, *source, "--trust", "trust.yaml", "--json")


def _stores(org: Org, *names: str) -> list[str]:
    return [arg for name in names for arg in ("--from", org.repo(name))]


def test_an_image_a_verified_run_built_passes(org: Org) -> None:
    out = _gate(org, "good", *_stores(org, "runs", "secops"))
    assert out.code == 0, out.err
    answer = out.json()
    assert answer["passed"] is True and answer["digest"] == org.images["good"]
    assert [(r["project"], r["workflow"], r["contract_revision"]) for r in answer["runs"]] == [
        ("app", "build", 1)
    ]
    # the run is found through the image's own referrers too: no run repository given
    referred = _gate(org, "good", *_stores(org, "app", "secops"))
    assert referred.code == 0, referred.err
    assert [r["run_id"] for r in referred.json()["runs"]] == [r["run_id"] for r in answer["runs"]]


REFUSED = {
    "unattested": "no verified run built",
    "unsigned": "no verified run built",
    "forged": "no verified run built",
    "rogue": "no verified run built",
    "nosbom": "violates policy sbom_covers_image: no SBOM of the run states the image digest",
}


@pytest.mark.parametrize("tag", sorted(REFUSED))
def test_an_image_without_a_good_verified_run_is_refused(org: Org, tag: str) -> None:
    out = _gate(org, tag, *_stores(org, "runs", "secops"))
    assert out.code == 3, out.err
    answer = out.json()
    assert answer["passed"] is False and answer["digest"] == org.images[tag]
    assert any(REFUSED[tag] in reason for reason in answer["reasons"]), answer["reasons"]
    assert REFUSED[tag] in out.err


def test_every_answer_equals_the_lake_gates_after_a_crawl(org: Org, tmp_path: Path) -> None:
    stores = _stores(org, "runs", "secops")
    lake = tmp_path / "lake"
    crawled = run_cli(org.cwd, "crawl", *stores, "--lake", str(lake), "--trust", "trust.yaml")
    assert crawled.code == 0, crawled.err
    for tag in org.images:
        from_store, from_lake = _gate(org, tag, *stores), _gate(org, tag, "--lake", str(lake))
        assert from_store.code == from_lake.code, tag
        assert from_store.json() == from_lake.json(), tag
    # the refused statements were refused for what they are
    with open_lake(lake) as opened:
        verdicts = opened.sql(
            "SELECT DISTINCT regexp_extract(source, ':(run-[a-z0-9-]+)$', 1) AS tag, reason "
            "FROM verifications WHERE status <> 'verified'"
        ).to_pylist()
    found = {(v["tag"], v["reason"]) for v in verdicts}
    assert ("run-forged-run", "bad_signature") in found
    assert ("run-unsigned-run", "no_trust_material") in found
    assert any(reason == "untrusted_signer" for _, reason in found)


def test_without_secops_store_nothing_passes(org: Org) -> None:
    """The runs verify, but no store holds the inventory and contract the trust names."""
    out = _gate(org, "good", *_stores(org, "runs"))
    assert out.code == 3
    reasons = " ".join(out.json()["reasons"])
    assert "the workflow is not in the current inventory" in reasons
    assert "no trusted published revision of contract app-build" in reasons
