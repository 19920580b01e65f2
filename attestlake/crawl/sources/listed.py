"""A crawl's sources, each seen to list something before the crawl writes anything.

:func:`require_listed` starts the listing of each source and takes its first candidate. A
source that lists nothing (a registry repository the registry does not know, a repository
with no tags, an OCI layout directory or a folder that is not there or holds nothing, a
registry whose catalog is empty) is an :class:`~attestlake.errors.EmptySource` error naming
every such source and why, unless empty sources are allowed. The crawl goes on with each
listing where the check left it: nothing is listed twice.
"""

from __future__ import annotations

from collections.abc import Iterator

from attestlake.crawl.sources.combined import CombinedSource
from attestlake.crawl.sources.interface import Candidate, Source, WrappedSource
from attestlake.errors import EmptySource

#: Warnings of an empty source quoted in its error.
_QUOTED = 3


class Listed(WrappedSource):
    """``source`` with its listing started: ``empty`` tells if it lists nothing."""

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self._rest = iter(source.candidates())
        self._first = next(self._rest, None)
        self.empty = self._first is None

    def candidates(self) -> Iterator[Candidate]:
        first, self._first = self._first, None
        if first is not None:
            yield first
        yield from self._rest


def _nothing_in(source: Listed) -> str:
    why = [source.why_empty(), *source.warnings()[:_QUOTED]]
    return f"no attestations found in {source.ref} ({'; '.join(why)})"


def require_listed(source: Source, *, allow_empty: bool = False) -> Source:
    """``source`` with the listing of each of its parts started (see the module doc);
    EmptySource if a part lists nothing and ``allow_empty`` is false. Closing the result
    closes ``source``. A part already listed is taken as it is."""
    given = source.parts if isinstance(source, CombinedSource) else (source,)
    parts = [p if isinstance(p, Listed) else Listed(p) for p in given]
    empty = [p for p in parts if p.empty]
    if empty and not allow_empty:
        lines = [_nothing_in(p) for p in empty]
        raise EmptySource("\n".join(lines) + "\npass --allow-empty if an empty source is expected")
    return CombinedSource(parts) if isinstance(source, CombinedSource) else parts[0]
