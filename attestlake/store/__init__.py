"""Stores: where attestations, evidence and contracts live.

One interface, :class:`Store`, with two implementations: an OCI image-layout directory
(:mod:`attestlake.store.layout`, the embedded default, no server) and an OCI distribution
registry over HTTP (:mod:`attestlake.store.registry`). :func:`open_store` picks one from a
reference string.
"""

from __future__ import annotations

from attestlake.store.interface import Store
from attestlake.store.oci import (
    MAX_BLOB_SIZE,
    MAX_MANIFEST_SIZE,
    Descriptor,
    Manifest,
    is_digest,
    sha256_digest,
)
from attestlake.store.reference import open_store

__all__ = [
    "MAX_BLOB_SIZE",
    "MAX_MANIFEST_SIZE",
    "Descriptor",
    "Manifest",
    "Store",
    "is_digest",
    "open_store",
    "sha256_digest",
]
