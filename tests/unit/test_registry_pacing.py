"""The registry store's pacing: how many requests it has in flight (AdaptiveLimit), the
manifests a listing keeps for the crawl (ManifestCache), and the deadlines of its requests
(Watchdog)."""

from __future__ import annotations

import threading
import time

from attestlake.store._watchdog import Watchdog
from attestlake.store.adaptive_limit import AdaptiveLimit
from attestlake.store.manifest_cache import ManifestCache


def _round(limit: AdaptiveLimit, seconds: float) -> None:
    for _ in range(limit.limit):
        limit.answered(seconds)


def test_the_limit_grows_by_one_a_round_while_latency_holds_up_to_its_ceiling() -> None:
    limit = AdaptiveLimit(start=2, ceiling=5)
    seen = [limit.limit]
    for _ in range(6):
        _round(limit, 0.010)
        seen.append(limit.limit)
    assert seen == [2, 3, 4, 5, 5, 5, 5]


def test_the_limit_holds_while_the_registry_answers_slower_than_its_best() -> None:
    limit = AdaptiveLimit(start=4, ceiling=16)
    _round(limit, 0.010)
    assert limit.limit == 5
    for _ in range(3):
        _round(limit, 0.050)  # five times slower: the registry is queueing
    assert limit.limit == 5


def test_overload_halves_the_limit_once_a_round_down_to_one() -> None:
    limit = AdaptiveLimit(start=8, ceiling=16)
    limit.overloaded()
    limit.overloaded()  # the other requests of the same round say the same: halved once
    assert limit.limit == 4
    for expected in (2, 1, 1):
        _round(limit, 10.0)  # a slow round: no growth, and a new round begins
        limit.overloaded()
        assert limit.limit == expected


def test_no_more_requests_than_the_limit_are_ever_in_flight() -> None:
    limit = AdaptiveLimit(start=3, ceiling=3)
    most, lock = [0], threading.Lock()

    def request() -> None:
        with limit.slot():
            with lock:
                most[0] = max(most[0], limit.in_flight)
            time.sleep(0.005)

    threads = [threading.Thread(target=request) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 3 and limit.in_flight == 0


def test_the_manifest_cache_gives_each_manifest_once_and_keeps_within_its_bounds() -> None:
    cache = ManifestCache(max_entries=3, max_bytes=10)
    cache.put("sha256:a", b"1234")
    assert cache.take("sha256:a") == b"1234"
    assert cache.take("sha256:a") is None  # read once: not kept
    for name in "bcde":
        cache.put(f"sha256:{name}", b"12")
    assert len(cache) == 3 and cache.take("sha256:b") is None  # the oldest went first
    cache.put("sha256:f", b"123456789")  # 9 bytes: the others go to stay within 10
    assert len(cache) == 1 and cache.take("sha256:f") == b"123456789"
    cache.put("sha256:g", b"12345678901")  # over the bound alone: never kept
    assert cache.take("sha256:g") is None


def test_a_deadline_fires_once_unless_cancelled_first() -> None:
    watchdog = Watchdog()
    fired: list[str] = []
    cancelled = watchdog.arm(0.05, lambda: fired.append("cancelled"))
    late = watchdog.arm(0.10, lambda: fired.append("late"))
    soon = watchdog.arm(0.01, lambda: fired.append("soon"))
    cancelled.cancel()
    time.sleep(0.3)
    assert fired == ["soon", "late"]
    assert soon.fired and late.fired and not cancelled.fired
    for _ in range(3000):  # requests answered well within their deadline
        watchdog.arm(60, lambda: fired.append("never")).cancel()
    assert len(watchdog._heap) <= 1024  # cancelled deadlines do not pile up until they pass
