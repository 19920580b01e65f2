"""Deadlines of the registry store's requests, kept by one thread for all of them.

Every request to a registry has a deadline (its answer must arrive whole within it, however
slowly the registry sends it). A :class:`threading.Timer` per deadline starts a thread per
request, which costs as much as the request itself against a registry nearby; the
:data:`WATCHDOG` keeps every deadline in a heap and calls each one's callback from a single
daemon thread, unless it was cancelled first.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Alarm:
    """One armed deadline; :meth:`cancel` it once the work it guards is done."""

    __slots__ = ("_callback", "_lock", "cancelled", "fired")

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True

    def fire(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.fired = True
        self._callback()


class Watchdog:
    """Calls each :class:`Alarm`'s callback when its deadline passes, from one thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._armed = 0

    def arm(self, seconds: float, callback: Callable[[], None]) -> Alarm:
        """An alarm that calls ``callback`` in ``seconds`` unless cancelled before."""
        alarm = Alarm(callback)
        entry = (time.monotonic() + seconds, next(self._order), alarm)
        with self._wake:
            self._armed += 1
            if self._armed % 1024 == 0:  # cancelled alarms wait for their deadline: drop them
                self._heap = [e for e in self._heap if not e[2].cancelled]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="attestlake-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0] is entry:
                self._wake.notify()
        return alarm

    def _next_due(self) -> Alarm:
        """Wait for the earliest alarm not cancelled to be due; take it off the heap."""
        with self._wake:
            while True:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                due, _, alarm = self._heap[0]
                left = due - time.monotonic()
                if left <= 0:
                    heapq.heappop(self._heap)
                    return alarm
                self._wake.wait(left)

    def _run(self) -> None:
        while True:
            self._next_due().fire()


#: The watchdog of every registry request in this process.
WATCHDOG = Watchdog()
