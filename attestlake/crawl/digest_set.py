"""A set of sha256 digests held in about 32 bytes each, for the crawl's per-unit bookkeeping.

A crawl remembers every unit in the lake, every unit it listed and every trusted statement:
millions of ``sha256:<hex>`` strings at a million runs. As Python strings in a set they take
about 150 bytes each, as 32-byte ``bytes`` about 110 (the object and its slot in the set);
here a digest's 32 bytes are split into a 2-byte bucket number and a 30-byte remainder kept
side by side in that bucket's ``bytearray``, so that a million digests take about 38 MB
(the remainders, the buckets' spare room, 65,536 buckets) instead of about 110 MB. A lookup
is one search of a bucket of about 15 remainders per million digests. Anything that is not a
well-formed sha256 digest (lower-case hex) is kept as it is, in an ordinary set.
"""

from __future__ import annotations

from collections.abc import Iterable

from attestlake.store import is_digest

_BUCKET_BYTES = 2
_REST = 32 - _BUCKET_BYTES


class DigestSet:
    """The digests added so far; ``in`` and :meth:`add`, as a ``set[str]`` of them."""

    def __init__(self, digests: Iterable[str] = ()) -> None:
        self._buckets: list[bytearray | None] = [None] * (1 << (8 * _BUCKET_BYTES))
        self._others: set[str] = set()
        self._count = 0
        for digest in digests:
            self.add(digest)

    def __len__(self) -> int:
        return self._count + len(self._others)

    def __contains__(self, digest: str) -> bool:
        if not is_digest(digest):
            return digest in self._others
        raw = bytes.fromhex(digest[7:])
        bucket = self._buckets[int.from_bytes(raw[:_BUCKET_BYTES])]
        return bucket is not None and _holds(bucket, raw[_BUCKET_BYTES:])

    def add(self, digest: str) -> None:
        if not is_digest(digest):
            self._others.add(digest)
            return
        raw = bytes.fromhex(digest[7:])
        number = int.from_bytes(raw[:_BUCKET_BYTES])
        bucket = self._buckets[number]
        if bucket is None:
            self._buckets[number] = bytearray(raw[_BUCKET_BYTES:])
        elif not _holds(bucket, raw[_BUCKET_BYTES:]):
            bucket += raw[_BUCKET_BYTES:]
        else:
            return
        self._count += 1


def _holds(bucket: bytearray, rest: bytes) -> bool:
    """Whether ``rest`` is one of the remainders of ``bucket`` (not bytes across two)."""
    at = bucket.find(rest)
    while at > 0 and at % _REST:
        at = bucket.find(rest, at + 1)
    return at >= 0


__all__ = ["DigestSet"]
