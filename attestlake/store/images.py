"""Container image references: parse them, and resolve a tag to its digest through the registry.

A reference is ``[HOST[:PORT]/]NAME[:TAG][@sha256:<hex>]``, as docker and cosign write it.
Without a host it is Docker Hub (``docker.io/library/`` for one-part names). Resolving asks
the registry for the manifest (``HEAD /v2/NAME/manifests/TAG``, OCI and Docker media types);
registry credentials are only sent to the registry of the store they were given for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from attestlake.errors import MaterialError, StoreError
from attestlake.store import Descriptor, Store

if TYPE_CHECKING:
    from attestlake.store.registry import RegistryStore

DOCKER_HUB = "docker.io"
_DOCKER_HUB_API = "registry-1.docker.io"
_LOCAL_HOSTS = ("localhost", "127.0.0.1")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REF_RE = re.compile(
    rf"^(?:(?P<host>(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(?::[0-9]+)?)/(?=.))?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class ImageRef:
    registry: str  # HOST[:PORT]; docker.io for Docker Hub
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.name}{tag}{digest}"


def parse_image(ref: str) -> ImageRef | None:
    """The parsed reference, or None if ``ref`` is not an image reference."""
    match = _REF_RE.match(ref.strip())
    if match is None:
        return None
    host, path = match["host"], match["path"]
    # A first component without '.', ':' or 'localhost' is a Docker Hub namespace, not a host.
    if host is not None and not ("." in host or ":" in host or host == "localhost"):
        if not re.fullmatch(_COMPONENT, host):
            return None
        host, path = None, f"{host}/{path}"
    if host is not None and host.lower() != host:
        return None
    if host is None:
        host = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return ImageRef(host, path, match["tag"], match["digest"])


def registry_url(host: str) -> str:
    if host == DOCKER_HUB:
        return f"https://{_DOCKER_HUB_API}"
    scheme = "http" if host.split(":")[0] in _LOCAL_HOSTS else "https"
    return f"{scheme}://{host}"


def same_registry(image: ImageRef, store: Store) -> bool:
    """True if ``store`` is a registry repository on the host of ``image``."""
    from attestlake.store.registry import RegistryStore

    if not isinstance(store, RegistryStore):
        return False
    return store.base_url.split("://", 1)[1] == image.registry


def open_repository(image: ImageRef, store: Store | None = None) -> RegistryStore:
    """The image's repository as a store; with ``store``'s credentials if on the same host."""
    from attestlake.store.registry import RegistryStore

    if isinstance(store, RegistryStore) and same_registry(image, store):
        return store.repository_store(image.repository)
    return RegistryStore(registry_url(image.registry), image.repository, timeout=15.0, retries=1)


def manifest_descriptor(image: ImageRef, store: Store | None = None) -> Descriptor:
    """The descriptor (media type, digest, size) of the image's manifest, from the registry."""
    repo = open_repository(image, store)
    try:
        desc = repo.head_manifest(image.digest or image.tag or "latest")
    finally:
        repo.close()
    if image.digest and desc.digest != image.digest:
        raise StoreError(f"registry {image.registry} answered digest {desc.digest} for {image}")
    return desc


def resolve_image(value: str, store: Store | None = None) -> str:
    """``value`` with its digest: ``NAME[:TAG]@sha256:<hex>`` (asks the registry for a tag)."""
    image = parse_image(value)
    if image is None:
        raise MaterialError(
            f"{value!r} is not an image reference (expected NAME[:TAG] or NAME@sha256:<64 hex>)"
        )
    if image.digest:
        return value
    try:
        desc = manifest_descriptor(image, store)
    except StoreError as exc:
        raise MaterialError(
            f"cannot resolve image {value} to a digest: {exc}; give it as NAME@sha256:<digest>"
        ) from None
    return f"{value}@{desc.digest}"
