"""The raw-JSON baseline: what answering any question costs without a lake.

:func:`scan` reads the OCI layout the way a script with plain Python ``json`` would: the
index, every manifest, every signed statement layer (DSSE envelope or Sigstore bundle) decoded
down to its in-toto statement, and every CycloneDX SBOM it carries as evidence. Every saved
query needs at least this much (the runs, their materials, their SBOM components), so a query's
ratio against it is a lower bound of what the lake saves.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

SIGNED = ("application/vnd.dsse.envelope.v1+json", "application/vnd.dev.sigstore.bundle.v0.3+json")
SBOM = "application/vnd.cyclonedx+json"


@dataclass(frozen=True)
class Scanned:
    manifests: int
    statements: int
    components: int
    signed_bytes: int  # bytes of the signed statement layers read


def _blob(root: Path, digest: str) -> bytes:
    return (root / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def scan(root: Path) -> Scanned:
    """Read and parse every statement and SBOM of the layout at ``root``."""
    index = json.loads((root / "index.json").read_bytes())
    manifests = statements = components = signed_bytes = 0
    for entry in index["manifests"]:
        manifest = json.loads(_blob(root, entry["digest"]))
        manifests += 1
        for layer in manifest.get("layers", []):
            media = layer.get("mediaType")
            if media in SIGNED:
                raw = _blob(root, layer["digest"])
                signed_bytes += len(raw)
                doc = json.loads(raw)
                envelope = doc.get("dsseEnvelope", doc)
                statement = json.loads(base64.b64decode(envelope["payload"]))
                statements += bool(statement.get("predicateType"))
            elif media == SBOM:
                components += len(json.loads(_blob(root, layer["digest"])).get("components", []))
    return Scanned(manifests, statements, components, signed_bytes)
