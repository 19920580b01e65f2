"""Build a real lake for tests, through the library only: contracts, collector, store, crawl.

    lake = build_lake(tmp_path, contracts={"build-r1": contract_yaml("build", 1, [...])},
                      runs=[RunSpec("payments", "build-api", "build-r1", when(2024, 5, 1),
                                    materials={"image": image_ref("api")})])

Contracts are keyed by a label of your choice; ``RunSpec.contract`` names that label. Material
values are what ``attestlake attest add`` takes: an image reference, a string, or a file path
(:func:`cyclonedx_sbom` writes a valid CycloneDX SBOM). Runs are signed by the key named in
``RunSpec.signer``; the trust policy trusts only ``"trusted"``. ``RunSpec.tamper`` replaces the
pushed envelope with one whose payload differs by one byte (same tag, new manifest).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from attestlake.collect.collector import Attestation, PushResult
from attestlake.contracts.contracts import load_contract
from attestlake.crawl.crawl import CrawlResult, crawl
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.lake.lake import Lake
from attestlake.signing.keys import KeySigner, generate_key
from attestlake.store import Descriptor, Manifest, sha256_digest
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests import assets

TRUSTED = "trusted"
CRAWL_TIME = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def when(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


def image_ref(name: str, registry: str = "ghcr.io/acme") -> str:
    """A container image reference with a digest derived from ``name``."""
    return f"{registry}/{name}@sha256:{hashlib.sha256(name.encode()).hexdigest()}"


def cyclonedx_sbom(path: Path, component: str = "app", components: int = 2) -> str:
    """Write a small valid CycloneDX 1.5 SBOM to ``path`` (each component with a purl and a
    sha256, as the sbom_quality query expects); return the path as a string."""
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {"component": {"type": "application", "name": component, "version": "1.0"}},
        "components": [
            {
                "type": "library",
                "name": f"lib{i}",
                "version": f"1.{i}.0",
                "purl": f"pkg:generic/lib{i}@1.{i}.0",
                "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(b"lib%d" % i).hexdigest()}],
            }
            for i in range(components)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def contract_yaml(
    name: str,
    revision: int,
    materials: Sequence[tuple[str, str]],
    *,
    optional: Sequence[str] = (),
    outputs: Sequence[str] = (),
    runner: str | None = "GITHUB_ACTION",
) -> str:
    """Contract YAML (apiVersion attestlake.dev/v1); materials are (type, name) pairs."""
    lines = [
        "apiVersion: attestlake.dev/v1",
        "kind: Contract",
        "metadata:",
        f"  name: {name}",
        f"  revision: {revision}",
        "spec:",
    ]
    if runner:
        lines += ["  runner:", f"    type: {runner}"]
    lines.append("  materials:" if materials else "  materials: []")
    for kind, mname in materials:
        lines += [f"    - type: {kind}", f"      name: {mname}"]
        if mname in optional:
            lines.append("      optional: true")
        if mname in outputs:
            lines.append("      output: true")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunSpec:
    project: str
    workflow: str
    contract: str  # a label in build_lake(contracts=...)
    started_at: datetime
    materials: Mapping[str, str] = field(default_factory=dict)
    team: str | None = "team-a"
    run_id: str | None = None
    signer: str = TRUSTED
    tamper: bool = False
    duration: timedelta = timedelta(minutes=5)
    #: SLSA provenance beside the run statement (the collector's default is on; these lakes
    #: keep one document per run unless a test asks for it).
    provenance: bool = False


@dataclass
class BuiltLake:
    root: Path
    lake_path: Path
    store: LayoutStore
    policy_path: Path
    pushed: dict[str, PushResult]  # by run id
    crawl_result: CrawlResult

    def open(self) -> Lake:
        return Lake.open(self.lake_path)


def github_env(project: str, run_number: int) -> dict[str, str]:
    return {
        **assets.env("ci/github-push-main-acme.json"),
        "GITHUB_REPOSITORY": f"acme/{project}",
        "GITHUB_RUN_ID": str(1000 + run_number),
        "GITHUB_SHA": hashlib.sha1(f"{project}{run_number}".encode()).hexdigest(),
        "GITHUB_TOKEN": "not-recorded",
    }


def tamper_envelope(store: LayoutStore, pushed: PushResult) -> str:
    """Replace the envelope of ``pushed`` by one with one payload byte changed.

    The new envelope keeps the old signatures, goes into a new manifest (same layers
    otherwise) under the same tag. Returns the new manifest digest.
    """
    manifest = store.get_manifest(pushed.tag)
    raw = store.get_blob(pushed.envelope_digest)
    envelope = json.loads(raw)
    payload = bytearray(base64.b64decode(envelope["payload"]))
    at = payload.index(b'"success"') + 1
    payload[at] = ord("S")  # "success" -> "Success": still JSON, no longer what was signed
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    forged = json.dumps(envelope, separators=(",", ":")).encode()
    store.put_blob(forged, ENVELOPE_MEDIA_TYPE)
    layers = [
        Descriptor(layer.media_type, sha256_digest(forged), len(forged), dict(layer.annotations))
        if layer.digest == pushed.envelope_digest
        else layer
        for layer in manifest.layers
    ]
    forged_manifest = Manifest.build(
        artifact_type=manifest.artifact_type or "",
        layers=layers,
        annotations=dict(manifest.annotations),
    )
    store.put_manifest(forged_manifest, tag=pushed.tag)
    return forged_manifest.digest


def build_lake(
    tmp_path: Path,
    *,
    contracts: Mapping[str, str],
    runs: Sequence[RunSpec],
    crawl_now: datetime = CRAWL_TIME,
) -> BuiltLake:
    """Push every run to an OCI layout store under ``tmp_path``, then crawl it into a lake."""
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    signers: dict[str, KeySigner] = {}
    for name in sorted({TRUSTED, *(r.signer for r in runs)}):
        private, public = generate_key()
        (keys_dir / f"{name}.key").write_bytes(private)
        (keys_dir / f"{name}.pub").write_bytes(public)
        signers[name] = KeySigner.from_file(keys_dir / f"{name}.key")
    policy_path = tmp_path / "trust.yaml"
    policy_path.write_text(f"keys:\n  - path: keys/{TRUSTED}.pub\n", encoding="utf-8")

    contracts_dir = tmp_path / "contracts"
    contracts_dir.mkdir(parents=True, exist_ok=True)
    loaded = {}
    for label, text in contracts.items():
        path = contracts_dir / f"{label}.yaml"
        path.write_text(text, encoding="utf-8")
        loaded[label] = load_contract(path)

    store = LayoutStore(tmp_path / "store")
    pushed: dict[str, PushResult] = {}
    for number, spec in enumerate(runs, start=1):
        run_id = spec.run_id or f"{spec.project}-{spec.workflow}-{number}"
        att = Attestation.init(
            loaded[spec.contract],
            workflow=spec.workflow,
            project=spec.project,
            team=spec.team,
            env=github_env(spec.project, number),
            now=spec.started_at,
            run_id=run_id,
        )
        for name, value in spec.materials.items():
            att.add(name, value)
        result = att.push(
            signers[spec.signer],
            store,
            now=spec.started_at + spec.duration,
            provenance=spec.provenance,
        )
        if spec.tamper:
            tamper_envelope(store, result)
        pushed[run_id] = result

    lake_path = tmp_path / "lake"
    crawl_result = crawl(
        store, lake_path, load_policy(policy_path), now=crawl_now, allow_empty=not runs
    )
    return BuiltLake(tmp_path, lake_path, store, policy_path, pushed, crawl_result)


def raw_lake(lake_path: Path, rows: Mapping[str, Sequence[Mapping[str, object]]]) -> Path:
    """A lake written directly (no store, no crawl): rows per table name, missing columns NULL.

    For edge cases the collector cannot produce (an SBOM material without a digest, ...).
    """
    from attestlake.lake.tables import BY_NAME
    from attestlake.lake.write import Appender, create_tables

    create_tables(lake_path)
    appender = Appender(lake_path)
    for name, table_rows in rows.items():
        table = BY_NAME[name]
        for row in table_rows:
            unknown = set(row) - set(table.schema.names)
            if unknown:
                raise ValueError(f"{name} has no column(s) {sorted(unknown)}")
        full = [{c: row.get(c) for c in table.schema.names} for row in table_rows]
        appender.append(table, full)
    return lake_path
