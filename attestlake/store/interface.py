"""The store interface every backend implements (the records it speaks in are in
:mod:`attestlake.store.oci`)."""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from attestlake.errors import NotFound
from attestlake.store.oci import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    Index,
    Manifest,
    parse_any_manifest,
    referrers_tag,
)


class Store(ABC):
    """Content-addressed storage of blobs and manifests with tags (one OCI repository).

    Implementations must verify every blob and manifest they return against its digest and
    refuse content larger than the bounds they were opened with.
    """

    #: A reference that re-opens this store with :func:`attestlake.store.open_store`.
    ref: str
    #: How many reads a crawler runs against this store at a time.
    fetch_concurrency: int = 8

    @abstractmethod
    def has_blob(self, digest: str) -> bool: ...

    @abstractmethod
    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        """Store ``data`` (idempotent) and return its descriptor."""

    @abstractmethod
    def get_blob(self, digest: str, *, max_size: int | None = None) -> bytes:
        """Return the blob, verified against ``digest``.

        ContentError if it is larger than ``max_size`` (default: the store's own bound).
        """

    @abstractmethod
    def put_manifest(self, manifest: Manifest, tag: str | None = None) -> Descriptor:
        """Store the manifest's exact bytes (every blob it names must exist), tag it."""

    @abstractmethod
    def get_manifest(self, reference: str) -> Manifest:
        """Fetch a manifest by digest or tag; verified against its digest."""

    @abstractmethod
    def tags(self) -> Iterator[str]:
        """Every tag in the store."""

    @abstractmethod
    def resolve(self, tag: str) -> str:
        """The manifest digest a tag points at (NotFound if none)."""

    # The methods below have defaults that work for a store keeping manifests as blobs (the
    # OCI layout directory); the registry store overrides them.
    def get_any_manifest(self, reference: str) -> Manifest | Index | None:
        """A manifest or an index by digest or tag; None for kinds that carry no attestations."""
        digest = reference if reference.startswith("sha256:") else self.resolve(reference)
        return parse_any_manifest(self.get_blob(digest, max_size=MAX_MANIFEST_SIZE), digest)

    def referrers(self, digest: str) -> list[Descriptor]:
        """The manifests whose ``subject`` is ``digest`` (OCI 1.1), from the tag schema."""
        try:
            found = self.get_any_manifest(referrers_tag(digest))
        except NotFound:
            return []
        return list(found.manifests) if isinstance(found, Index) else []

    def has_referrers_api(self) -> bool:
        """True if the store answers the referrers API, so referrers need not be tagged."""
        return False

    def warnings(self) -> list[str]:
        """Listings this store cut short (a registry paging without end), so far."""
        return []

    def why_empty(self) -> str:
        """Why listing the store found no tag (asked once a listing found none)."""
        return "no tagged manifest in it"

    def list_manifests(self, threads: int = 1) -> Iterator[tuple[str, str]]:
        """(tag, manifest digest) for every tag in the store; tags are resolved ``threads`` at a
        time (a registry answers one HEAD request per tag). A tag deleted meanwhile is skipped."""

        def resolve(tag: str) -> str | None:
            try:
                return self.resolve(tag)
            except NotFound:
                return None

        tags = self.tags()
        with ThreadPoolExecutor(max(1, threads)) as pool:
            while chunk := list(itertools.islice(tags, 64 * max(1, threads))):
                for tag, digest in zip(chunk, pool.map(resolve, chunk), strict=True):
                    if digest is not None:
                        yield tag, digest

    def close(self) -> None:  # noqa: B027  (a store that holds no connection has nothing to close)
        """Release what the store holds open (connections)."""
