"""Stores: where attestations, evidence and contracts live.

One interface, :class:`Store`, with two implementations: an OCI image-layout directory
(:mod:`attestlake.store.layout`, the embedded default, no server) and an OCI distribution
registry over HTTP (:mod:`attestlake.store.registry`). :func:`open_store` picks one from a
reference string.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each name is defined: imported when first asked for, so that importing one module
#: of the package (``attestlake.store.oci``) does not import the others.
_DEFINED_IN = {
    "Store": "attestlake.store.interface",
    "open_store": "attestlake.store.reference",
    **dict.fromkeys(
        (
            "MAX_BLOB_SIZE",
            "MAX_MANIFEST_SIZE",
            "Descriptor",
            "Manifest",
            "is_digest",
            "sha256_digest",
        ),
        "attestlake.store.oci",
    ),
}


def __getattr__(name: str) -> Any:
    if name not in _DEFINED_IN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_DEFINED_IN[name]), name)
    globals()[name] = value
    return value
