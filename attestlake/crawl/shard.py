"""Shards: N crawlers, each a stable share of the crawl units, committing to one lake.

``crawl --shard K/N`` reads only the units whose key (an OCI manifest digest, or a document's
sha256 for files) falls in share K of N: the key's first 64 bits modulo N. The share of a unit
never changes, so N crawlers started with 1/N ... N/N over the same sources read every unit
exactly once between them, in any order and at the same time (writers of one lake take turns
under its lock), and the lake they make is the lake one crawl makes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from attestlake.crawl.sources.interface import Candidate, Source, WrappedSource
from attestlake.errors import InputError

_SPEC = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]+)\s*$")
#: More shards than this is a typo, not a fleet.
MAX_SHARDS = 4096


@dataclass(frozen=True)
class Shard:
    """Share ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def owns(self, key: str) -> bool:
        """Whether the unit with ``key`` is in this share."""
        hexdigest = (
            key[7:] if key.startswith("sha256:") else hashlib.sha256(key.encode()).hexdigest()
        )
        try:
            value = int(hexdigest[:16], 16)
        except ValueError:
            value = int(hashlib.sha256(key.encode()).hexdigest()[:16], 16)
        return value % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``K/N`` (1 <= K <= N) as a :class:`Shard`; InputError otherwise."""
    match = _SPEC.match(text)
    if match is None:
        raise InputError(f"not a shard: {text!r} (give K/N, e.g. 2/4: the second of four)")
    index, count = int(match[1]), int(match[2])
    if not 1 <= count <= MAX_SHARDS or not 1 <= index <= count:
        raise InputError(f"not a shard: {text!r} (K/N needs 1 <= K <= N <= {MAX_SHARDS}, e.g. 2/4)")
    return Shard(index, count)


class ShardedSource(WrappedSource):
    """The candidates of ``source`` that ``shard`` owns; the rest are not read at all."""

    def __init__(self, source: Source, shard: Shard) -> None:
        super().__init__(source)
        self.shard = shard

    def candidates(self) -> Iterator[Candidate]:
        return (c for c in self.source.candidates() if self.shard.owns(c.key))
