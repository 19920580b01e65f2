"""A set of sha256 digests held in about 32 bytes each, for the crawl's per-unit bookkeeping.

A crawl remembers every unit in the lake, every unit it listed and every trusted statement:
millions of ``sha256:<hex>`` strings at a million runs. As Python strings in a set they take
about 150 bytes each, as 32-byte ``bytes`` about 110 (the object and its slot in the set);
here a digest's 32 bytes are kept side by side in the ``bytearray`` of its bucket, so that a
million digests take about 45 MB (the digests and the buckets' spare room) instead of about
110 MB. A bucket is chosen by Python's keyed hash of the digest (random in each process: no
one can choose digests that all fall in one bucket), and the buckets are doubled whenever
they hold :data:`_SPLIT_AT` digests on average: a lookup searches a bucket of 32 to 64
digests whatever the set's size, and each bucket is larger than the interpreter's small
blocks (512 bytes), so that the memory of a set dropped goes back to the C library, which
hands it back to the system (:func:`attestlake._internal.memory_release.give_back`),
instead of staying in the interpreter's arenas among the objects allocated meanwhile.
Anything that is not a well-formed sha256 digest (lower-case hex) is kept as it is, in an
ordinary set.
"""

from __future__ import annotations

from collections.abc import Iterable

from attestlake.store import is_digest

_SIZE = 32
#: The buckets of an empty set.
_FIRST_BUCKETS = 64
#: Digests per bucket, on average, at which the buckets are doubled.
_SPLIT_AT = 64


class DigestSet:
    """The digests added so far; ``in`` and :meth:`add`, as a ``set[str]`` of them."""

    def __init__(self, digests: Iterable[str] = ()) -> None:
        self._buckets: list[bytearray] = [bytearray() for _ in range(_FIRST_BUCKETS)]
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
        return _holds(self._buckets[hash(raw) & (len(self._buckets) - 1)], raw)

    def add(self, digest: str) -> None:
        if not is_digest(digest):
            self._others.add(digest)
            return
        raw = bytes.fromhex(digest[7:])
        bucket = self._buckets[hash(raw) & (len(self._buckets) - 1)]
        if _holds(bucket, raw):
            return
        bucket += raw
        self._count += 1
        if self._count > _SPLIT_AT * len(self._buckets):
            self._double()

    def _double(self) -> None:
        """Twice the buckets: each digest of bucket ``i`` stays there or moves to ``i + n``,
        by the next bit of its hash; a bucket at a time, so that the set is never held twice."""
        n = len(self._buckets)
        moved = []
        for i, bucket in enumerate(self._buckets):
            keep, move = bytearray(), bytearray()
            for at in range(0, len(bucket), _SIZE):
                raw = bytes(bucket[at : at + _SIZE])
                (move if hash(raw) & n else keep).extend(raw)
            self._buckets[i] = keep
            moved.append(move)
        self._buckets.extend(moved)


def _holds(bucket: bytearray, raw: bytes) -> bool:
    """Whether ``raw`` is one of the digests of ``bucket`` (not bytes across two)."""
    at = bucket.find(raw)
    while at > 0 and at % _SIZE:
        at = bucket.find(raw, at + 1)
    return at >= 0


__all__ = ["DigestSet"]
