"""Sources: where the crawler discovers attestations.

One interface, :class:`Source`, with three implementations: one OCI repository (an OCI layout
directory or a registry repository: :mod:`attestlake.crawl.sources.store`), every repository of a
registry (:mod:`attestlake.crawl.sources.catalog`), and files and folders
(:mod:`attestlake.crawl.sources.files`). :func:`open_source` picks one from a reference string:

- ``HOST[:PORT]/*`` or ``http(s)://HOST[:PORT]/*``: every repository of the registry;
  ``HOST/PREFIX/*``: those whose name starts with ``PREFIX/``.
- ``HOST[:PORT]/REPO`` (or with ``http(s)://``), ``oci:PATH``, or a directory holding an
  ``oci-layout`` file: one repository.
- any other file or directory: files and folders.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from attestlake.crawl.sources.interface import MAX_DOCUMENT_SIZE, Candidate, Document, Source, Unit
from attestlake.errors import InputError
from attestlake.redaction import redact
from attestlake.store import Store, open_store

_CATALOG_RE = re.compile(
    r"^(?:(?P<scheme>https?)://)?(?P<host>[A-Za-z0-9.-]+(?::[0-9]+)?)/(?P<prefix>(?:[a-z0-9._/-]+/)?)\*$"
)
_LOCAL_HOSTS = ("localhost", "127.0.0.1")


def _looks_like_registry(ref: str) -> bool:
    if ref.startswith(("http://", "https://")):
        return True
    host = ref.split("/", 1)[0]
    return "/" in ref and ("." in host or ":" in host or host == "localhost")


def open_source(ref: str, *, max_document_size: int = MAX_DOCUMENT_SIZE) -> Source:
    """The source named by ``ref`` (see the module doc for the forms)."""
    from attestlake.crawl.sources.files import FileSource
    from attestlake.crawl.sources.store import StoreSource

    if not ref:
        raise InputError("no source given: pass --from with a path or a registry reference")
    catalog = _CATALOG_RE.match(ref)
    if catalog and not Path(ref).exists():
        from attestlake.crawl.sources.catalog import CatalogSource

        host = catalog["host"]
        scheme = catalog["scheme"] or ("http" if host.split(":")[0] in _LOCAL_HOSTS else "https")
        return CatalogSource(
            f"{scheme}://{host}",
            prefix=catalog["prefix"],
            username=os.environ.get("ATTESTLAKE_REGISTRY_USERNAME"),
            password=os.environ.get("ATTESTLAKE_REGISTRY_PASSWORD"),
            max_document_size=max_document_size,
        )
    path = Path(ref)
    if ref.startswith("oci:") or (path.is_dir() and (path / "oci-layout").is_file()):
        return StoreSource(open_store(ref), max_document_size=max_document_size)
    if path.exists():
        return FileSource(path, max_document_size=max_document_size)
    if _looks_like_registry(ref) and not ref.startswith("."):
        return StoreSource(open_store(ref), max_document_size=max_document_size)
    raise InputError(
        f"{redact(ref)}: no such file, folder or OCI layout directory (a registry is "
        "HOST[:PORT]/REPO, or HOST[:PORT]/* for all its repositories)"
    )


def as_source(source: Source | Store, *, max_document_size: int = MAX_DOCUMENT_SIZE) -> Source:
    """``source`` itself, or a :class:`Store` wrapped as one."""
    from attestlake.crawl.sources.store import StoreSource

    if isinstance(source, Source):
        return source
    return StoreSource(source, max_document_size=max_document_size)


__all__ = [
    "MAX_DOCUMENT_SIZE",
    "Candidate",
    "Document",
    "Source",
    "Unit",
    "as_source",
    "open_source",
]
