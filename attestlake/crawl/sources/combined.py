"""Several sources crawled as one: ``crawl --from A --from B``.

:class:`CombinedSource` yields the candidates of each source in the order given (the crawler
reads a unit found in two of them once, as it does a unit found twice in one). Its ``ref``
names every source; :func:`open_sources` opens them in order and, when one cannot be opened,
closes those it already opened before the error goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from attestlake.crawl.sources.interface import Candidate, Source

#: How the refs of several sources are joined in summaries and the lake's ``source`` column.
SEPARATOR = ", "


class CombinedSource(Source):
    """The sources ``parts``, one after the other; closing it closes each of them."""

    def __init__(self, parts: Sequence[Source]) -> None:
        if not parts:
            raise ValueError("a combined source needs at least one source")
        self.parts = tuple(parts)
        self.ref = SEPARATOR.join(p.ref for p in self.parts)
        self.fetch_concurrency = max(p.fetch_concurrency for p in self.parts)

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(p.ref for p in self.parts)

    def candidates(self) -> Iterator[Candidate]:
        for part in self.parts:
            yield from part.candidates()

    def warnings(self) -> list[str]:
        return [w for p in self.parts for w in p.warnings()]

    def why_empty(self) -> str:
        return "; ".join(f"{p.ref}: {p.why_empty()}" for p in self.parts)

    def close(self) -> None:
        """Close every part, each even when closing an earlier one failed."""
        close_all(self.parts)


def close_all(sources: Sequence[Source]) -> None:
    """Close each of ``sources``; the first failure is raised once all were tried."""
    failure: BaseException | None = None
    for source in sources:
        try:
            source.close()
        except BaseException as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


def open_sources(refs: Sequence[str], opener: Callable[[str], Source]) -> Source:
    """The source ``opener`` gives for the one ref, or a :class:`CombinedSource` of the sources
    of several (a ref given twice is read once). When one cannot be opened, those opened
    before it are closed and its error is raised."""
    unique = list(dict.fromkeys(refs))
    opened: list[Source] = []
    try:
        for ref in unique:
            opened.append(opener(ref))
    except BaseException:
        with contextlib.suppress(Exception):  # the opening error is the one to report
            close_all(opened)
        raise
    return opened[0] if len(opened) == 1 else CombinedSource(opened)
