"""An OCI image-layout directory as a store (the embedded default: no server).

Layout: ``oci-layout``, ``index.json`` (every manifest, tags in the
``org.opencontainers.image.ref.name`` annotation) and ``blobs/sha256/<hex>``. Writes are atomic
(temporary file + rename) and ``index.json`` is updated under an exclusive lock, so concurrent
writers never lose each other's manifests. A push reads and rewrites ``index.json`` whole; a
listing (and a tag's lookup) reads it as a stream, one entry at a time, so that listing a
million manifests holds one of them, not the file: read through once before any entry is
given, so that a damaged file is refused before any of it is used, then again from the same
open file (:mod:`attestlake._internal.untrusted_json_stream`).

A blob whose bytes do not match its digest is damage at rest (a partial copy, a tampered file),
not a fault on the way: reading it again gives the same bytes, so it is not retried but raised
as :class:`~attestlake.errors.ContentError`, and the crawler records the unit ``malformed``
where the lake's reports see it, as they see any tampering (after a repair, a crawl into a new
lake reads it). A file that cannot be read at all (permission denied, an I/O error) is
:class:`~attestlake.errors.StoreError`: the crawler skips the unit, records nothing, and reads
it again next time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from attestlake._internal._atomic import replace_file
from attestlake._internal.regular_files import NotRegularFile, open_regular, read_at_most, size_of
from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake._internal.untrusted_json_stream import NotAnArray, array_items
from attestlake.errors import ContentError, NotFound, StoreError
from attestlake.store.interface import Store
from attestlake.store.oci import (
    INDEX_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    MAX_BLOB_SIZE,
    MAX_MANIFEST_DEPTH,
    Descriptor,
    Manifest,
    check_digest,
    check_tag,
    sha256_digest,
    verify_content,
)

REF_NAME = "org.opencontainers.image.ref.name"
#: Bound on ``index.json`` when it is read whole, to be rewritten by a push (about 300 bytes
#: per manifest: some 850,000 manifests).
MAX_INDEX_SIZE = 256 * 1024 * 1024
#: Bound on ``index.json`` when it is listed, as a stream (some 14 million manifests): it
#: bounds the time a listing takes, not its memory.
MAX_LISTED_INDEX_SIZE = 4 * 1024 * 1024 * 1024
#: Bound on one entry of ``index.json`` (a descriptor: about 300 characters), and on each of
#: its other members; a listing holds one at a time.
MAX_INDEX_ENTRY_SIZE = 1024 * 1024


atomic_write = replace_file  # the store's files: written whole or not at all


class LayoutStore(Store):
    fetch_concurrency = 1

    def __init__(self, root: Path, *, max_blob_size: int = MAX_BLOB_SIZE) -> None:
        self.root = root
        self.ref = f"oci:{root}"
        self.max_blob_size = max_blob_size
        self._blobs = os.path.join(root, "blobs", "sha256")
        self._warnings: list[str] = []  # index.json entries skipped by list_manifests
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root} exists and is not a directory")
        if root.is_dir() and any(root.iterdir()) and not (root / "oci-layout").is_file():
            raise StoreError(f"{root} is not an OCI layout directory (no oci-layout file)")

    # -- plumbing -------------------------------------------------------------------------
    def _blob_path(self, digest: str) -> Path:
        return Path(self._blob_file(digest))

    def _blob_file(self, digest: str) -> str:
        """The file of the blob ``digest`` (a string: cheaper to make than a path)."""
        return os.path.join(self._blobs, check_digest(digest).split(":", 1)[1])

    def _ensure_layout(self) -> None:
        if not (self.root / "oci-layout").is_file():
            atomic_write(self.root / "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')

    def _read_index(self) -> dict[str, Any]:
        path = self.root / "index.json"
        try:
            with open_regular(path) as fh:
                raw = read_at_most(fh, MAX_INDEX_SIZE)
        except FileNotFoundError:
            return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            index = loads(
                raw, max_bytes=MAX_INDEX_SIZE, max_depth=MAX_MANIFEST_DEPTH, what=str(path)
            )
        except MalformedJSON as exc:
            raise StoreError(f"{exc}; repair or restore the OCI layout's index.json") from None
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise StoreError(f"{path} is not an OCI image index")
        for n, entry in enumerate(index["manifests"]):
            _check_entry(path, n, entry)
        return index

    def _entries(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """The entries of ``index.json`` with their positions, in memory bounded by one entry.

        The file is read through once before any entry is given, so that a damaged one is a
        StoreError before any of it is used (as when it was read whole), then again for its
        entries, from the same open file: a push renaming a new ``index.json`` in place
        meanwhile changes neither reading."""
        path = self.root / "index.json"
        try:
            fh = open_regular(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        with fh:
            for _ in self._stream(fh, path):
                pass
            fh.seek(0)
            yield from enumerate(self._stream(fh, path))

    @staticmethod
    def _stream(fh: BinaryIO, path: Path) -> Iterator[dict[str, Any]]:
        entries = array_items(
            fh,
            "manifests",
            max_bytes=MAX_LISTED_INDEX_SIZE,
            max_item_chars=MAX_INDEX_ENTRY_SIZE,
            max_depth=MAX_MANIFEST_DEPTH,
            what=str(path),
        )
        try:
            for n, entry in enumerate(entries):
                yield _check_entry(path, n, entry)
        except NotAnArray:
            raise StoreError(f"{path} is not an OCI image index") from None
        except MalformedJSON as exc:
            raise StoreError(f"{exc}; repair or restore the OCI layout's index.json") from None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None

    @contextlib.contextmanager
    def _index_lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".index.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- Store ----------------------------------------------------------------------------
    def has_blob(self, digest: str) -> bool:
        return self._blob_path(digest).is_file()

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        desc = Descriptor.for_bytes(media_type, data)
        path = self._blob_path(desc.digest)
        if not path.is_file():
            self._ensure_layout()
            atomic_write(path, data)
        return desc

    def get_blob(self, digest: str, *, max_size: int | None = None) -> bytes:
        limit = self.max_blob_size if max_size is None else max_size
        path = self._blob_file(digest)
        try:
            with open_regular(path) as fh:
                size = size_of(fh)
                if size > limit:
                    raise ContentError(
                        f"blob {digest} is {size} bytes, over the {limit}-byte bound"
                    )
                data = read_at_most(fh, limit)
            if len(data) > limit:
                raise ContentError(f"blob {digest} is over the {limit}-byte bound")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found in {self.ref}") from None
        except NotRegularFile as exc:
            raise ContentError(f"blob {digest} in {self.ref} {exc.strerror}") from None
        except OSError as exc:
            raise StoreError(
                f"cannot read blob {digest} in {self.ref}: {exc.strerror or exc}; "
                "check the file's permissions and the disk"
            ) from None
        return verify_content(data, digest, what=f"blob {digest} in {self.ref}")

    def in_page_cache(self, digest: str) -> bool:
        """Whether the start of blob ``digest`` reads without waiting on the disk (a hint;
        False where the system cannot tell). OSError, or ContentError for a bad digest."""
        with open_regular(self._blob_file(digest)) as fh:
            try:
                os.preadv(fh.fileno(), [bytearray(1)], 0, os.RWF_NOWAIT)
            except (BlockingIOError, AttributeError, NotImplementedError):
                return False
            except OSError as exc:
                if exc.errno == errno.EOPNOTSUPP:
                    return False
                raise
        return True

    def warm_blob(self, digest: str, size: int) -> None:
        """Ask the kernel to read the first ``size`` bytes of blob ``digest`` into the page
        cache, without waiting for them (a hint: the blob is read and checked when it is
        read). OSError, or ContentError for a bad digest, when the hint cannot be given."""
        length = min(size, self.max_blob_size)
        if length <= 0:  # 0 would ask for the whole file
            return
        with open_regular(self._blob_file(digest)) as fh:
            os.posix_fadvise(fh.fileno(), 0, length, os.POSIX_FADV_WILLNEED)

    def put_manifest(self, manifest: Manifest, tag: str | None = None) -> Descriptor:
        for desc in (manifest.config, *manifest.layers):
            if not self.has_blob(desc.digest):
                raise StoreError(f"manifest names blob {desc.digest} which is not in {self.ref}")
        if tag is not None:
            check_tag(tag)
        self._ensure_layout()
        path = self._blob_path(manifest.digest)
        if not path.is_file():
            atomic_write(path, manifest.raw)
        with self._index_lock():
            index = self._read_index()
            entries = [
                m
                for m in index["manifests"]
                if not (tag is not None and m.get("annotations", {}).get(REF_NAME) == tag)
            ]
            entry = manifest.descriptor().to_json()
            entry["mediaType"] = MANIFEST_MEDIA_TYPE
            entry["annotations"] = {REF_NAME: tag} if tag is not None else {}
            if entry not in entries:
                entries.append(entry)
            index["manifests"] = entries
            atomic_write(
                self.root / "index.json", json.dumps(index, indent=1, sort_keys=True).encode()
            )
        return manifest.descriptor()

    def get_manifest(self, reference: str) -> Manifest:
        digest = reference if reference.startswith("sha256:") else self.resolve(reference)
        return Manifest.parse(self.get_blob(digest), digest)

    def tags(self) -> Iterator[str]:
        for _, entry in self._entries():
            tag = (entry.get("annotations") or {}).get(REF_NAME)
            if isinstance(tag, str):
                yield tag

    def resolve(self, tag: str) -> str:
        for _, entry in self._entries():
            if (entry.get("annotations") or {}).get(REF_NAME) == tag:
                return check_digest(str(entry.get("digest")))
        raise NotFound(f"tag {tag!r} not found in {self.ref}")

    def list_manifests(self, threads: int = 1) -> Iterator[tuple[str, str]]:
        """(tag, digest) of every tagged manifest, as index.json is read (a stream: one entry
        at a time); an entry without a well-formed digest is skipped with a warning."""
        for n, entry in self._entries():
            tag = (entry.get("annotations") or {}).get(REF_NAME)
            if not isinstance(tag, str):
                continue
            try:
                digest = check_digest(str(entry.get("digest")))
            except ContentError:
                self._warnings.append(
                    f"{self.root / 'index.json'}: manifests[{n}] has no sha256 digest: skipped"
                )
                continue
            yield tag, digest

    def warnings(self) -> list[str]:
        return list(self._warnings)

    def why_empty(self) -> str:
        if not self.root.exists():
            return "no such directory"
        if not (self.root / "oci-layout").is_file():
            return "an empty directory, not an OCI layout"
        return "no tagged manifest in it"


def _check_entry(path: Path, n: int, entry: Any) -> dict[str, Any]:
    """Entry ``n`` of ``index.json``, if it is a descriptor (an object whose annotations, if
    any, are an object)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("annotations") or {}, dict):
        raise StoreError(f"{path} is not an OCI image index: manifests[{n}] is not a descriptor")
    return entry


__all__ = ["LayoutStore", "atomic_write", "sha256_digest"]
