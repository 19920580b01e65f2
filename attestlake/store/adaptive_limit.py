"""How many requests a registry store has in flight at once, adapted to the registry.

:class:`AdaptiveLimit` is a gate around each request, paced as TCP paces a connection
(additive increase, multiplicative decrease). It starts at :attr:`~AdaptiveLimit.limit`
requests at once. After each round of ``limit`` answers whose mean time to the headers held
within :data:`GROW_WITHIN` times the best round seen lately, it lets one more in, up to
:attr:`~AdaptiveLimit.ceiling`; while latency does not hold, it stays. An answer that says the
registry is overloaded (429 Too Many Requests, 503 Service Unavailable) halves it, at most
once a round, down to one. So a crawl goes as fast as the registry answers without queueing
there, and backs off as soon as the registry asks.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

#: A round whose mean latency is within this factor of the best round's grows the limit.
GROW_WITHIN = 1.5
#: How much the best round's latency drifts up per round (so a registry that got slower for
#: good is not compared with its best minute for ever).
BASELINE_DRIFT = 1.05


class AdaptiveLimit:
    """A gate that lets at most :attr:`limit` requests through at once (see the module)."""

    def __init__(self, start: int = 4, ceiling: int = 16) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = min(max(1, start), self.ceiling)
        self.in_flight = 0
        self.backoffs = 0  # times the registry said it was overloaded and the limit halved
        self.lowest = self.limit  # the lowest the limit has been
        self.baseline: float | None = None  # the best round's mean latency, drifting up
        self._round: list[float] = []
        self._throttled_this_round = False
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the :attr:`limit` places while the block runs."""
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify()

    def answered(self, seconds: float) -> None:
        """A request was answered in ``seconds`` (to its headers), without a sign of overload."""
        with self._cond:
            self._round.append(seconds)
            if len(self._round) < self.limit:
                return
            mean = sum(self._round) / len(self._round)
            self._round.clear()
            self._throttled_this_round = False
            if self.baseline is None or mean < self.baseline:
                self.baseline = mean
            if mean <= GROW_WITHIN * self.baseline:
                self._set(self.limit + 1)
            self.baseline *= BASELINE_DRIFT

    def overloaded(self) -> None:
        """The registry answered 429 or 503: halve the limit (once per round)."""
        with self._cond:
            if not self._throttled_this_round:
                self._throttled_this_round = True
                self._round.clear()
                self.backoffs += 1
                self._set(self.limit // 2)

    def _set(self, limit: int) -> None:
        grew = limit > self.limit
        self.limit = min(max(1, limit), self.ceiling)
        self.lowest = min(self.lowest, self.limit)
        if grew:
            self._cond.notify_all()
