"""An OCI layout store for writing many records at once: one ``index.json`` write at the end.

:class:`~attestlake.store.layout.LayoutStore` rewrites ``index.json`` (under a lock, with an
fsync) for every manifest, which is right for a collector pushing one run and quadratic for a
generator pushing a million. :class:`BulkLayoutStore` writes each blob straight to its
file, without a temporary file or an fsync (a generated store is made again, not recovered,
after a crash: its ``index.json`` is written last) and keeps the index entries
of the manifests it writes for :func:`write_index`, which writes them after the entries already
in ``index.json`` (the published contracts and inventory), compactly, in one rename.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from attestlake.errors import NotFound
from attestlake.store import Descriptor, Manifest
from attestlake.store.layout import REF_NAME, LayoutStore
from attestlake.store.oci import MANIFEST_MEDIA_TYPE


class BulkLayoutStore(LayoutStore):
    """A layout store whose new manifests wait in :attr:`entries` for :func:`write_index`."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entries: list[dict[str, Any]] = []
        #: Blobs written and their bytes, by media type.
        self.written: Counter[str] = Counter()
        self.written_bytes: Counter[str] = Counter()

    def _write(self, path: Path, data: bytes, media_type: str) -> None:
        try:  # content-addressed: a blob already there is this one
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.written[media_type] += 1
        self.written_bytes[media_type] += len(data)

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        desc = Descriptor.for_bytes(media_type, data)
        self._write(self._blob_path(desc.digest), data, media_type)
        return desc

    def put_manifest(self, manifest: Manifest, tag: str | None = None) -> Descriptor:
        self._write(self._blob_path(manifest.digest), manifest.raw, MANIFEST_MEDIA_TYPE)
        entry = manifest.descriptor().to_json()
        entry["mediaType"] = MANIFEST_MEDIA_TYPE
        entry["annotations"] = {REF_NAME: tag} if tag is not None else {}
        self.entries.append(entry)
        return manifest.descriptor()

    def resolve(self, tag: str) -> str:
        """Every tag this store writes is new (each run has its own id)."""
        raise NotFound(f"tag {tag!r} not found in {self.ref}")

    def take_entries(self) -> list[dict[str, Any]]:
        out, self.entries = self.entries, []
        return out


def write_index(root: Path, parts: Iterable[Path]) -> int:
    """Append the entries in ``parts`` (files of JSON lines) to ``root``'s index; how many."""
    index_path = root / "index.json"
    index = json.loads(index_path.read_bytes())
    head = json.dumps({k: v for k, v in index.items() if k != "manifests"}, separators=(",", ":"))
    count = 0
    tmp = root / ".index.json.tmp"
    with tmp.open("w", encoding="utf-8") as out:
        out.write(head[:-1] + ',"manifests":[')
        first = True
        for entry in index["manifests"]:
            out.write(("" if first else ",") + json.dumps(entry, separators=(",", ":")))
            first = False
        for part in parts:
            with part.open(encoding="utf-8") as lines:
                for line in lines:
                    out.write(("" if first else ",") + line.rstrip("\n"))
                    first = False
                    count += 1
        out.write("]}")
    os.replace(tmp, index_path)
    return count
