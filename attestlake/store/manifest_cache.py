"""Manifests a registry listing fetched, kept until the crawler reads them.

Listing a registry repository fetches each tag's manifest to learn its digest; the crawler
reads the manifests it has not seen before by digest a moment later.
:class:`ManifestCache` keeps the bytes in between, so that each is fetched once. It is
bounded in entries and bytes (the oldest go first, and are fetched again if asked for) and
gives each entry once: a manifest read is not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

#: Manifests kept at most (a listing runs ahead of the crawl by a few thousand at most).
MAX_ENTRIES = 8192
#: Bytes of manifests kept at most.
MAX_BYTES = 64 * 1024 * 1024


class ManifestCache:
    """Manifest bytes by digest, bounded, each taken once; safe to share between threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def put(self, digest: str, raw: bytes) -> None:
        """Keep ``raw``, the bytes of the manifest ``digest`` (checked by the caller)."""
        if len(raw) > self.max_bytes:
            return
        with self._lock:
            old = self._kept.pop(digest, None)
            self._bytes -= len(old or b"")
            self._kept[digest] = raw
            self._bytes += len(raw)
            while len(self._kept) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= len(dropped)

    def take(self, digest: str) -> bytes | None:
        """The bytes kept for ``digest``, no longer kept; None if there are none."""
        with self._lock:
            raw = self._kept.pop(digest, None)
            self._bytes -= len(raw or b"")
            return raw
