"""The signature floor: ECDSA P-256 verifications per second over the store's own envelopes,
on every core.

:func:`collect` gathers, for the DSSE envelopes of the layout signed with an ECDSA key (up to
:data:`SAMPLE` of them, in the index's order: the rate does not depend on how many there
are, and a million runs' envelopes would take gigabytes), the pre-authentication encoding
(PAE) and the signature; :func:`verifications_per_second` verifies them with ``cryptography``
in a pool of one process per core and returns the rate. A crawl must verify every envelope
once, so it cannot go faster than this.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.intoto.dsse import pae
from attestlake.store.oci import is_digest
from benchmarks.measure.rawscan import SIGNED

Item = tuple[bytes, bytes]  # (PAE, DER signature)
#: At most this many envelopes' signatures are verified to measure the floor.
SAMPLE = 100_000
_key: list[ec.EllipticCurvePublicKey] = []


def blob(blobs: Path, digest: str) -> tuple[str, bytes]:
    """The hex digits and bytes of the blob ``digest`` names in ``blobs``; a name that is not a
    sha256 digest (a path outside the blobs) is refused."""
    if not is_digest(digest):
        raise RuntimeError(f"blob {digest!r}: not a sha256 digest")
    hexdigest = digest.removeprefix("sha256:")
    return hexdigest, (blobs / hexdigest).read_bytes()


def collect(root: Path, limit: int = SAMPLE) -> list[Item]:
    """(PAE, signature) of the first ``limit`` DSSE envelopes' signatures in the layout
    (bundles are left out)."""
    index = json.loads((root / "index.json").read_bytes())
    blobs = root / "blobs" / "sha256"
    out = []
    for entry in index["manifests"]:
        manifest = json.loads(blob(blobs, entry["digest"])[1])
        for layer in manifest.get("layers", []):
            if layer.get("mediaType") != SIGNED[0]:
                continue
            env = json.loads(blob(blobs, layer["digest"])[1])
            payload = base64.b64decode(env["payload"])
            for sig in env["signatures"]:
                out.append((pae(env["payloadType"], payload), base64.b64decode(sig["sig"])))
            if len(out) >= limit:
                return out[:limit]
    return out


def _start(public_pem: bytes) -> None:
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    _key.append(key)


def _verify(chunk: list[Item]) -> int:
    ok = 0
    for message, signature in chunk:
        try:
            _key[0].verify(signature, message, ec.ECDSA(hashes.SHA256()))
            ok += 1
        except InvalidSignature:  # the rogue key's envelopes: verified all the same
            pass
    return ok


def verifications_per_second(
    items: list[Item], public_pem: bytes, jobs: int | None = None
) -> float:
    """Verify every item with the key ``public_pem`` on ``jobs`` processes (default: every
    core); verifications per second of wall time, pool start-up excluded."""
    jobs = jobs or os.cpu_count() or 1
    size = max(1, len(items) // (jobs * 8))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_start, initargs=(public_pem,)) as pool:
        pool.map(_verify, [items[:jobs]] * jobs)  # warm: workers started, code loaded
        started = time.perf_counter()
        pool.map(_verify, chunks)
        seconds = time.perf_counter() - started
    return len(items) / seconds
