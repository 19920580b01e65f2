"""Crawl throughput: N generated attestations in an OCI layout store, crawled serially and in
parallel (worker processes) in the same process; prints envelopes/s for each.

    .venv/bin/python benchmarks/crawl_bench.py [N] [--jobs J] [--batch-size B]

Each attestation is attestlake's run predicate, signed (ECDSA P-256 DSSE) with a fresh key,
with a 20-component CycloneDX SBOM as evidence every 4th run. The store is generated once in a
temporary directory; each crawl writes a fresh lake.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.collect.statements import RUN_PREDICATE_TYPE
from attestlake.crawl.crawl import crawl
from attestlake.crawl.inspection import default_jobs
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, pae
from attestlake.signing.keys import key_id
from attestlake.store import Descriptor, Manifest
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE, INDEX_MEDIA_TYPE
from attestlake.verify.verify import load_policy

CDX = "application/vnd.cyclonedx+json"
ARTIFACT = "application/vnd.attestlake.run.v1+json"


def _sbom(n: int) -> bytes:
    components = [
        {
            "type": "library",
            "name": f"lib{i}",
            "version": f"{n}.{i}",
            "purl": f"pkg:npm/lib{i}@{n}.{i}",
        }
        for i in range(20)
    ]
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components}
    ).encode()


def _statement(n: int, sbom: bytes | None) -> bytes:
    materials: list[dict[str, object]] = [
        {
            "name": "image",
            "type": "CONTAINER_IMAGE",
            "value": f"ghcr.io/acme/app@sha256:{n:064x}",
            "digest": {"sha256": f"{n:064x}"},
            "output": True,
        }
    ]
    if sbom is not None:
        materials.append(
            {
                "name": "sbom",
                "type": "SBOM_CYCLONEDX_JSON",
                "filename": "sbom.json",
                "digest": {"sha256": hashlib.sha256(sbom).hexdigest()},
            }
        )
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "ghcr.io/acme/app", "digest": {"sha256": f"{n:064x}"}}],
            "predicateType": RUN_PREDICATE_TYPE,
            "predicate": {
                "run": {
                    "id": f"run-{n}",
                    "status": "success",
                    "startedAt": f"2024-05-{1 + n % 28:02d}T10:00:00Z",
                },
                "workflow": {"name": f"wf{n % 20}", "project": f"p{n % 7}", "team": "t"},
                "contract": {
                    "name": "c",
                    "revision": 1,
                    "digest": "sha256:" + "c" * 64,
                    "materials": [{"name": "image", "type": "CONTAINER_IMAGE"}],
                },
                "runner": {"type": "GITHUB_ACTION", "url": f"https://ci.example/{n}"},
                "materials": materials,
                "annotations": {},
            },
        }
    ).encode()


def _write_blob(store: Path, data: bytes) -> None:
    path = store / "blobs" / "sha256" / hashlib.sha256(data).hexdigest()
    path.write_bytes(data)


def generate(root: Path, n: int) -> Path:
    """A layout store with ``n`` signed attestations; returns the trust policy path."""
    key = ec.generate_private_key(ec.SECP256R1())
    (root / "ci.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (root / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    kid = key_id(key.public_key())
    store = LayoutStore(root / "store")
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    entries = []
    for i in range(n):
        sbom = _sbom(i) if i % 4 == 0 else None
        payload = _statement(i, sbom)
        sig = key.sign(pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))
        env = json.dumps(
            {
                "payloadType": "application/vnd.in-toto+json",
                "payload": base64.b64encode(payload).decode(),
                "signatures": [{"keyid": kid, "sig": base64.b64encode(sig).decode()}],
            }
        ).encode()
        blobs = [(ENVELOPE_MEDIA_TYPE, env)] + ([(CDX, sbom)] if sbom is not None else [])
        layers = [Descriptor.for_bytes(media, data) for media, data in blobs]
        manifest = Manifest.build(artifact_type=ARTIFACT, layers=layers, annotations={})
        for data in [data for _, data in blobs] + [manifest.raw]:
            _write_blob(root / "store", data)
        entry = manifest.descriptor().to_json()
        entry["annotations"] = {"org.opencontainers.image.ref.name": f"run-{i}"}
        entries.append(entry)
    index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": entries}
    (root / "store" / "index.json").write_text(json.dumps(index))  # one write, not n
    return root / "trust.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        policy = load_policy(generate(root, args.n))
        print(f"generated {args.n} attestations in {time.perf_counter() - started:.1f}s")
        for label, jobs in (("serial", 1), (f"parallel ({args.jobs} jobs)", args.jobs)):
            lake = root / f"lake-{jobs}"
            started = time.perf_counter()
            result = crawl(
                LayoutStore(root / "store"), lake, policy, jobs=jobs, batch_size=args.batch_size
            )
            seconds = time.perf_counter() - started
            print(
                f"{label:>22}: {result.documents} envelopes in {seconds:.2f}s = "
                f"{result.documents / seconds:,.0f} envelopes/s ({result.verified} verified, "
                f"{result.rows['sbom_components']} SBOM components)"
            )


if __name__ == "__main__":
    main()
