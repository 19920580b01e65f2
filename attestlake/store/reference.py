"""Turn a store reference string into a :class:`~attestlake.store.Store`.

Accepted forms:

- ``oci:PATH`` or a filesystem path (``./store``, ``/var/lake/store``): an OCI image-layout
  directory, created on first write.
- ``http://HOST[:PORT]/REPO`` or ``https://HOST[:PORT]/REPO``: a repository in an OCI
  distribution registry.
- ``HOST[:PORT]/REPO``: the same over HTTPS, or plain HTTP for ``localhost``/``127.0.0.1``.

Registry credentials come from ``ATTESTLAKE_REGISTRY_USERNAME`` and
``ATTESTLAKE_REGISTRY_PASSWORD`` (basic auth); they are never logged. A reference that carries
them itself (``https://user:password@host/repo``) is refused, and never quoted with them: a
reference ends up in state files, signed statements and logs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from attestlake.errors import InputError
from attestlake.redaction import has_userinfo, redact, without_userinfo
from attestlake.store.interface import Store
from attestlake.store.oci import MAX_BLOB_SIZE

_REGISTRY_RE = re.compile(
    r"^(?:(?P<scheme>https?)://)?(?P<host>[A-Za-z0-9.-]+(?::[0-9]+)?)/(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*)$"
)
_LOCAL_HOSTS = ("localhost", "127.0.0.1")


def _looks_like_registry(ref: str) -> bool:
    if ref.startswith(("http://", "https://")):
        return True
    host = ref.split("/", 1)[0]
    return (
        "/" in ref
        and ("." in host or ":" in host or host == "localhost")
        and not ref.startswith(".")
    )


def store_identity(ref: str, base: Path | None = None) -> str:
    """What a store reference names, for comparing two references to one store: ``oci:`` and
    an absolute path for a layout directory (a relative one taken from ``base``, default the
    working directory), ``HOST[:PORT]/REPO`` (host lower-case, no scheme) for a registry
    repository."""
    if not ref.startswith("oci:"):
        match = _REGISTRY_RE.match(ref)
        if match and _looks_like_registry(ref) and not Path(ref).exists():
            return f"{match['host'].lower()}/{match['repo']}"
    path = Path(ref.removeprefix("oci:"))
    if not path.is_absolute() and base is not None:
        path = base / path
    return f"oci:{os.path.abspath(path)}"


def malformed_registry(ref: str) -> bool:
    """Whether ``ref`` names a registry repository the way :func:`open_store` refuses (a
    trailing slash, an upper-case repository name, credentials): a reference that would name
    no store anyone can crawl."""
    return (
        not ref.startswith("oci:")
        and _looks_like_registry(ref)
        and not Path(ref).exists()
        and _REGISTRY_RE.match(ref) is None
    )


def check_reference(ref: str) -> None:
    """Refuse a registry reference that carries a user name or password."""
    if ref.startswith("oci:") or not has_userinfo(ref):
        return
    if _looks_like_registry(ref) and not Path(ref).exists():
        raise InputError(
            f"the store reference {without_userinfo(ref)!r} carries credentials (user:password@): "
            "give the registry without them, and its credentials in "
            "ATTESTLAKE_REGISTRY_USERNAME and ATTESTLAKE_REGISTRY_PASSWORD"
        )


def open_store(ref: str, *, max_blob_size: int = MAX_BLOB_SIZE) -> Store:
    """Open the store named by ``ref`` (see the module doc for the forms)."""
    if not ref:
        raise InputError(
            "no store given: pass --to/--from with a directory or a registry reference"
        )
    if ref.startswith("oci:"):
        from attestlake.store.layout import LayoutStore

        return LayoutStore(Path(ref[4:]), max_blob_size=max_blob_size)
    check_reference(ref)
    if _looks_like_registry(ref) and not Path(ref).exists():
        match = _REGISTRY_RE.match(ref)
        if not match:
            raise InputError(
                f"not a registry reference: {redact(ref)!r} (expected HOST[:PORT]/REPOSITORY, "
                "lower-case repository name)"
            )
        host = match["host"]
        scheme = match["scheme"] or ("http" if host.split(":")[0] in _LOCAL_HOSTS else "https")
        from attestlake.store.registry import RegistryStore

        return RegistryStore(
            f"{scheme}://{host}",
            match["repo"],
            username=os.environ.get("ATTESTLAKE_REGISTRY_USERNAME"),
            password=os.environ.get("ATTESTLAKE_REGISTRY_PASSWORD"),
            max_blob_size=max_blob_size,
        )
    from attestlake.store.layout import LayoutStore

    return LayoutStore(Path(ref), max_blob_size=max_blob_size)
