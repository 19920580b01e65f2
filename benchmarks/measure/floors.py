"""What the unmet targets leave room for: the least any implementation of this design spends,
measured on the organisation, beside the budget the target allows.

- :func:`read_check_parse` (target 3): one process reads the layout the least a verifying
  crawler can (every manifest and layer read and its sha256 checked, every DSSE envelope
  parsed and its ECDSA signature verified, every statement and CycloneDX SBOM parsed with
  plain ``json``), and nothing else: no normalising, no Arrow, no writes. Its CPU per signed
  document against the CPU a document may take at a third of the signature floor.
- :func:`kept_streams` (target 8): the signed documents' payloads and the rest of each
  document (signatures, certificates, proofs) compressed as two zstd streams at level 19: what
  a compressor finds across the documents, against the lake's columns that keep them.
- :func:`kept_columns` (target 8): the bytes of the lake's columns and tables that keep
  what cannot be made again from anything else (the statements, the rest of the signed
  documents for ``reverify``, the SBOMs' components), against 15% of the signed bytes.

The crawl's processes before any document (target 6) are measured by
``python -m benchmarks.measure.child processes``, and the standard library's start-up (target 7)
by timing ``python -c "import ..."`` (:mod:`benchmarks.measure.targets`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from attestlake.intoto.dsse import pae
from benchmarks.measure.floor import blob
from benchmarks.measure.rawscan import SBOM, SIGNED

#: At most this many signed documents are read by :func:`read_check_parse` and compressed by
#: :func:`kept_streams` (the figures are per document or shares: they do not need them all).
SAMPLE = 20_000


@dataclass(frozen=True)
class Pipeline:
    documents: int  # signed documents read
    cpu_seconds: float  # of this process, for all of them

    @property
    def cpu_per_document(self) -> float:
        return self.cpu_seconds / max(1, self.documents)


Layer = tuple[str, str, bytes]  # media type ("manifest" for the manifest), sha256 hex, bytes


def _documents(root: Path, limit: int) -> list[list[Layer]]:
    """The first manifests and their layers that hold up to ``limit`` signed documents, read
    into memory before anything is timed (the page cache warm either way)."""
    blobs = root / "blobs" / "sha256"
    index = json.loads((root / "index.json").read_bytes())
    out: list[list[Layer]] = []
    signed = 0
    for entry in index["manifests"]:
        layers: list[Layer] = [("manifest", *blob(blobs, entry["digest"]))]
        for layer in json.loads(layers[0][2]).get("layers", []):
            media = layer.get("mediaType")
            if media in SIGNED or media == SBOM:
                layers.append((media, *blob(blobs, layer["digest"])))
                signed += media in SIGNED
        out.append(layers)
        if signed >= limit:
            break
    return out


def read_check_parse(root: Path, public_pem: bytes, limit: int = SAMPLE) -> Pipeline:
    """The least a verifying crawler does per document, in this process (see the module doc).
    Sigstore bundles are parsed down to their statement but not verified (a lower bound)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ecdsa = ec.ECDSA(hashes.SHA256())
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    read = _documents(root, limit)
    documents = 0
    started = time.process_time()
    for layers in read:
        for media, hexdigest, data in layers:
            if hashlib.sha256(data).hexdigest() != hexdigest:  # as the index or manifest named
                raise RuntimeError(f"blob sha256:{hexdigest}: its bytes have another digest")
            doc = json.loads(data)
            if media not in SIGNED:
                continue  # a manifest or an SBOM: parsed, as its rows need
            documents += 1
            envelope = doc.get("dsseEnvelope", doc)
            payload = base64.b64decode(envelope["payload"])
            if envelope is doc:
                message = pae(envelope["payloadType"], payload)
                for signature in envelope["signatures"]:
                    # the rogue signer's do not verify: verified all the same
                    with contextlib.suppress(InvalidSignature):
                        key.verify(base64.b64decode(signature["sig"]), message, ecdsa)
            json.loads(payload)
    return Pipeline(documents, time.process_time() - started)


@dataclass(frozen=True)
class Streams:
    documents: int
    raw_bytes: int  # the signed documents, as stored
    payload_bytes: int  # their payloads compressed as one stream
    rest_bytes: int  # the rest of each document compressed as another


def kept_streams(root: Path, limit: int = SAMPLE, level: int = 19) -> Streams:
    """The first ``limit`` signed documents' payloads (decoded) and the rest of each (the
    document without its payload), each kind compressed as one zstd stream at ``level``."""
    import pyarrow as pa

    payloads: list[bytes] = []
    rest: list[bytes] = []
    raw = 0
    for layers in _documents(root, limit):
        for media, _, data in layers:
            if media not in SIGNED:
                continue
            raw += len(data)
            doc = json.loads(data)
            envelope = doc.get("dsseEnvelope", doc)
            payloads.append(base64.b64decode(envelope.pop("payload")))
            rest.append(json.dumps(doc, separators=(",", ":")).encode())
    codec = pa.Codec("zstd", compression_level=level)
    return Streams(
        len(payloads),
        raw,
        len(codec.compress(b"".join(payloads), asbytes=True)),
        len(codec.compress(b"".join(rest), asbytes=True)),
    )


#: The lake's columns (``table.column``) and whole tables (``table``) that keep what cannot be
#: made again from the others.
KEPT = ("attestations.statement", "blobs.content", "sbom_components")


def kept_columns(lake: Path, kept: tuple[str, ...] = KEPT) -> dict[str, int]:
    """The compressed bytes of each of ``kept`` in the lake's current files, and of the whole
    lake's data files as ``"*"``."""
    import deltalake
    import pyarrow.parquet as pq

    sizes = dict.fromkeys(kept, 0)
    for name in {k.split(".", 1)[0] for k in kept}:
        for uri in deltalake.DeltaTable(str(lake / name)).file_uris():
            meta = pq.ParquetFile(uri).metadata
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(group.num_columns):
                    column = group.column(c)
                    for key in (name, f"{name}.{column.path_in_schema}"):
                        if key in sizes:
                            sizes[key] += column.total_compressed_size
    sizes["*"] = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    return sizes
