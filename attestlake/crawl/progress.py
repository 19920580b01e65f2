"""How far a crawl is: its phases, each with the units done and, once known, the units to do.

A crawl lists its sources' units, fetches those not in the lake yet, verifies them and writes
them, in batches, the phases overlapping (batch k is verified while batch k+1 is fetched).
Whoever runs it may pass a :data:`ProgressFn`; it hears a :class:`CrawlProgress` after each
unit listed or fetched and after each batch verified or written, always from the thread that
called the crawl. The total of a phase is None while the listing goes on: only then is it
known how many units there are to fetch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LISTING = "listing"
FETCHING = "fetching"
VERIFYING = "verifying"
WRITING = "writing"
#: The phases, in the order a unit goes through them.
PHASES = (LISTING, FETCHING, VERIFYING, WRITING)


@dataclass(frozen=True)
class CrawlProgress:
    """One report: ``done`` units of ``phase`` out of ``total`` (None: not known yet)."""

    phase: str
    done: int
    total: int | None


ProgressFn = Callable[[CrawlProgress], None]


class Reporter:
    """Counts each phase and tells ``progress`` (when given) after each step.

    Listing counts every distinct unit; fetching, verifying and writing count the units not
    in the lake yet, less (for verifying and writing) those whose fetch failed.
    """

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.done = dict.fromkeys(PHASES, 0)
        self.new = 0
        self.skipped = 0
        self.listing_done = False

    def _total(self, phase: str) -> int | None:
        if not self.listing_done:
            return None
        if phase == LISTING:
            return self.done[LISTING]
        return self.new if phase == FETCHING else self.new - self.skipped

    def _tell(self, phase: str) -> None:
        if self.progress is not None:
            self.progress(CrawlProgress(phase, self.done[phase], self._total(phase)))

    def listed(self, *, new: bool) -> None:
        """One more distinct unit listed; ``new`` when it is not in the lake yet."""
        self.done[LISTING] += 1
        self.new += new
        self._tell(LISTING)

    def listed_all(self) -> None:
        """The listing ended: every total is known from now on, and told for each phase
        begun."""
        self.listing_done = True
        for phase in PHASES:
            if phase == LISTING or self.done[phase]:
                self._tell(phase)

    def fetched(self, *, ok: bool) -> None:
        """One more unit fetched (or skipped, its store failing: ``ok`` false)."""
        self.done[FETCHING] += 1
        self.skipped += not ok
        self._tell(FETCHING)

    def verified(self, units: int) -> None:
        self.done[VERIFYING] += units
        self._tell(VERIFYING)

    def written(self, units: int) -> None:
        self.done[WRITING] += units
        self._tell(WRITING)
