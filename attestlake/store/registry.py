"""A repository in an OCI distribution registry as a store (HTTP, via ``requests``).

Speaks the OCI distribution spec: blobs are uploaded with POST + PUT, manifests are PUT with
their exact bytes, everything read is bounded and verified against its digest. Requests go
through :class:`~attestlake.store.registry_client.RegistryClient` (credentials, retries,
fetches that arrive damaged are fetched again, else
:class:`~attestlake.errors.TransportError`: a fault on the way, not in the content, so the
crawler skips the unit and reads it again next time); listings (tags, the catalog, referrers)
are read page by page through :class:`~attestlake.store.registry_listings.RegistryListings`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from attestlake.errors import ContentError, NotFound, TransportError
from attestlake.store._http import read_bounded
from attestlake.store.interface import Store
from attestlake.store.manifest_cache import ManifestCache
from attestlake.store.oci import (
    DOCKER_LIST_MEDIA_TYPE,
    DOCKER_MANIFEST_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    MAX_MANIFEST_SIZE,
    Descriptor,
    Index,
    Manifest,
    check_digest,
    check_tag,
    parse_any_manifest,
    sha256_digest,
)
from attestlake.store.registry_client import BLOB_HEAD_TRANSIENT
from attestlake.store.registry_listings import RegistryListings

_ACCEPT = f"{MANIFEST_MEDIA_TYPE}, {INDEX_MEDIA_TYPE}"
_ACCEPT_ANY = f"{_ACCEPT}, {DOCKER_MANIFEST_MEDIA_TYPE}, {DOCKER_LIST_MEDIA_TYPE}"


class RegistryStore(RegistryListings, Store):
    #: Manifests listed and not read yet, by digest.
    _manifests: ManifestCache

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._manifests = ManifestCache()

    def __repr__(self) -> str:
        return f"RegistryStore({self.ref!r}, username={self.username!r})"

    def repository_store(self, repository: str) -> RegistryStore:
        """Another repository of the same registry, with the same credentials and bounds."""
        return RegistryStore(
            self.base_url,
            repository,
            username=self.username,
            password=self._password,
            max_blob_size=self.max_blob_size,
            timeout=self.timeout,
            retries=self.retries,
            deadline=self.deadline,
        )

    # -- Store ----------------------------------------------------------------------------
    def has_blob(self, digest: str) -> bool:
        url = f"blobs/{check_digest(digest)}"
        what, transient = f"blob {digest}", BLOB_HEAD_TRANSIENT
        with self._request("HEAD", url, what=what, ok=(200, 404), transient=transient) as resp:
            return resp.status_code == 200

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        desc = Descriptor.for_bytes(media_type, data)
        if self.has_blob(desc.digest):
            return desc
        what = f"upload of blob {desc.digest}"
        with self._request("POST", "blobs/uploads/", what=what, ok=(202,)) as resp:
            location = resp.headers.get("Location")
            if not location:
                raise self._error(f"registry {self.ref} started an upload without a Location")
            parts = urlsplit(urljoin(resp.url, location))
        query = urlencode([*parse_qsl(parts.query), ("digest", desc.digest)])
        url = urlunsplit(parts._replace(query=query))
        headers = {"Content-Type": "application/octet-stream"}
        self._request("PUT", url, what=what, ok=(201, 204), data=data, headers=headers).close()
        return desc

    def get_blob(self, digest: str, *, max_size: int | None = None) -> bytes:
        limit = self.max_blob_size if max_size is None else max_size
        what = f"blob {check_digest(digest)}"
        return self._fetch(f"blobs/{digest}", what=what, limit=limit, digest=digest)[0]

    def put_manifest(self, manifest: Manifest, tag: str | None = None) -> Descriptor:
        reference = check_tag(tag) if tag is not None else manifest.digest
        what = f"manifest {manifest.digest}" + (f" (tag {tag!r})" if tag else "")
        headers = {"Content-Type": MANIFEST_MEDIA_TYPE}
        with self._request(
            "PUT",
            f"manifests/{reference}",
            what=what,
            ok=(201,),
            data=manifest.raw,
            headers=headers,
        ) as resp:
            stored = resp.headers.get("Docker-Content-Digest")
        if stored is not None and stored != manifest.digest:
            raise ContentError(
                f"registry {self.ref} stored {what} under digest {stored}: it changed the bytes"
            )
        if stored is None and tag is not None:
            url = f"manifests/{manifest.digest}"
            with self._request("HEAD", url, what=what, ok=(200, 404)) as head:
                missing = head.status_code == 404
            if missing:
                self.put_manifest(manifest)
        return manifest.descriptor()

    def get_manifest(self, reference: str) -> Manifest:
        is_digest = reference.startswith("sha256:")
        ref = check_digest(reference) if is_digest else check_tag(reference)
        what = f"manifest {ref}"
        raw, digest = self._fetch(
            f"manifests/{ref}",
            what=what,
            limit=MAX_MANIFEST_SIZE,
            digest=ref if is_digest else None,
            headers={"Accept": _ACCEPT},
        )
        return Manifest.parse(raw, digest)

    def tags(self) -> Iterator[str]:
        url = f"{self.base_url}/v2/{self.repository}/tags/list"
        what = f"tag list of {self.repository}"
        for tag in self._list_names(url, "tags", what):
            try:
                yield check_tag(tag)
            except ContentError:  # no manifest can be asked for by that name
                self._warnings.append(
                    f"{what} from {self.base_url}/: skipped a name that is not a valid OCI tag: "
                    f"{tag[:64]!r}"
                )

    def resolve(self, tag: str) -> str:
        what, headers = f"tag {check_tag(tag)!r}", {"Accept": _ACCEPT}
        with self._request("HEAD", f"manifests/{tag}", what=what, headers=headers) as resp:
            digest = resp.headers.get("Docker-Content-Digest")
        if digest:
            return check_digest(digest)
        with self._request("GET", f"manifests/{tag}", what=what, stream=True, headers=headers) as r:
            return sha256_digest(read_bounded(r, MAX_MANIFEST_SIZE, what, self.deadline))

    def list_manifests(self, threads: int = 1) -> Iterator[tuple[str, str]]:
        """(tag, manifest digest) for every tag, ``threads`` tags at a time: each tag's
        manifest is fetched by its tag, once (no HEAD request first), and kept for
        :meth:`get_any_manifest` to answer by digest (:class:`ManifestCache`). A tag deleted
        meanwhile is skipped."""

        def fetch(tag: str) -> str | None:
            try:
                return self._fetch_tagged(tag)
            except NotFound:
                return None

        tags = self.tags()
        with ThreadPoolExecutor(max(1, threads)) as pool:
            while chunk := list(itertools.islice(tags, 64 * max(1, threads))):
                for tag, digest in zip(chunk, pool.map(fetch, chunk), strict=True):
                    if digest is not None:
                        yield tag, digest

    def _fetch_tagged(self, tag: str) -> str:
        """The digest of the manifest ``tag`` names, its bytes kept in the cache when the
        registry stated that digest (as it does with every answer); else, or when the manifest
        does not arrive intact, the digest a HEAD request states (:meth:`resolve`)."""
        try:
            raw, stated = self._fetch(
                f"manifests/{tag}",
                what=f"manifest {tag!r}",
                limit=MAX_MANIFEST_SIZE,
                headers={"Accept": _ACCEPT_ANY},
            )
        except (ContentError, TransportError):
            return self.resolve(tag)  # read by digest later, where its fault is the unit's
        if stated is None:
            return self.resolve(tag)
        self._manifests.put(stated, raw)
        return stated

    def get_any_manifest(self, reference: str) -> Manifest | Index | None:
        is_digest = reference.startswith("sha256:")
        ref = check_digest(reference) if is_digest else check_tag(reference)
        kept = self._manifests.take(ref) if is_digest else None
        if kept is not None:
            return parse_any_manifest(kept, ref)
        raw, digest = self._fetch(
            f"manifests/{ref}",
            what=f"manifest {ref}",
            limit=MAX_MANIFEST_SIZE,
            digest=ref if is_digest else None,
            headers={"Accept": _ACCEPT_ANY},
        )
        return parse_any_manifest(raw, digest or sha256_digest(raw))

    def referrers(self, digest: str) -> list[Descriptor]:
        """Referrers of ``digest``: the referrers API where the registry has it (every page),
        else the ``sha256-<hex>`` tag schema (as cosign and oras push them)."""
        if self._referrers_api is not False:
            found = self._referrers_from_api(check_digest(digest))
            if found is not None:
                return found
        return super().referrers(digest)

    def has_referrers_api(self) -> bool:
        if self._referrers_api is None:
            self._referrers_from_api(referrers_tag_probe())
        return bool(self._referrers_api)

    # -- attaching referrers and resolving images (attestlake.store.referrers, attestlake.store.images) --
    def head_manifest(self, reference: str) -> Descriptor:
        """The descriptor (media type, digest, size) of the manifest a tag or digest names, of
        any OCI or Docker kind, from one HEAD request; NotFound if there is none."""
        is_digest = reference.startswith("sha256:")
        ref = check_digest(reference) if is_digest else check_tag(reference)
        what, headers = f"manifest {ref}", {"Accept": _ACCEPT_ANY}
        with self._request("HEAD", f"manifests/{ref}", what=what, headers=headers) as resp:
            stated = resp.headers.get("Docker-Content-Digest") or (ref if is_digest else "")
            media_type = resp.headers.get("Content-Type", MANIFEST_MEDIA_TYPE).split(";")[0]
            size = resp.headers.get("Content-Length", "")
        if is_digest and stated != ref:
            raise self._error(f"registry {self.ref} answered digest {stated} for {what}")
        if not size.isdigit():
            raise self._error(f"registry {self.ref} gave no size for {what}")
        digest = stated or self.resolve(ref)
        return Descriptor(media_type.strip(), check_digest(digest), int(size))

    def put_referrer(self, manifest: Manifest) -> bool:
        """Push a manifest that names a ``subject``, by digest. True if the registry indexed it
        for the referrers API (it answered ``OCI-Subject``): then no referrers tag is needed."""
        what = f"referrer {manifest.digest}"
        headers = {"Content-Type": MANIFEST_MEDIA_TYPE}
        url = f"manifests/{manifest.digest}"
        with self._request(
            "PUT", url, what=what, ok=(201,), data=manifest.raw, headers=headers
        ) as resp:
            return bool(resp.headers.get("OCI-Subject"))

    def put_index(self, raw: bytes, tag: str) -> str:
        """Store an OCI image index's exact bytes under ``tag``; return its digest."""
        Index.parse(raw)  # never push what this store would refuse to read back
        what = f"index {check_tag(tag)!r}"
        headers = {"Content-Type": INDEX_MEDIA_TYPE}
        self._request(
            "PUT", f"manifests/{tag}", what=what, ok=(201,), data=raw, headers=headers
        ).close()
        return sha256_digest(raw)

    def why_empty(self) -> str:
        return "repository not found" if self.name_unknown else "the repository has no tags"

    def catalog(self) -> Iterator[str]:
        """Every repository the registry lists (``/v2/_catalog``)."""
        yield from self._list_names(f"{self.base_url}/v2/_catalog", "repositories", "catalog")


def referrers_tag_probe() -> str:
    """A digest that names nothing: asking for its referrers tells if the API exists."""
    return "sha256:" + "0" * 64
