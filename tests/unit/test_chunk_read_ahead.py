"""A worker reads a chunk's units a few ahead of the one it inspects, on threads, so that a
store not in the page cache does not leave the worker waiting on each read in turn. What the
chunk gives back is what reading one unit after another gives: every unit in order, the
store's transient failures as warnings in order, and a loader's bug raised."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from attestlake.crawl import chunk
from attestlake.crawl.chunk import READ_AHEAD, Fetch, inspect_chunk
from attestlake.crawl.sources.interface import Unit
from attestlake.errors import StoreError
from attestlake.verify.trust import TrustPolicy

NOW = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = TrustPolicy("policy.yaml", ())


@dataclass
class Loader:
    """Reads unit ``key`` as an unreadable manifest (one row each), fails as a store does for
    the keys in ``failing``, raises a bug for those in ``buggy``; counts the reads started."""

    failing: frozenset[str] = frozenset()
    buggy: frozenset[str] = frozenset()
    started: list[str] = field(default_factory=list)
    barrier: threading.Barrier | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, key: str, source: str) -> Unit:
        with self.lock:
            self.started.append(key)
        if self.barrier is not None:
            self.barrier.wait()  # BrokenBarrierError unless reads overlap
        if key in self.failing:
            raise StoreError("connection reset")
        if key in self.buggy:
            raise ZeroDivisionError("a loader bug")
        return Unit(key, source, error=f"manifest unreadable: {key}")


def _work(loader: Loader, count: int) -> list[Fetch]:
    return [Fetch(loader, f"sha256:{i:064x}", f"oci:store:t{i}") for i in range(count)]


def _keys(result: chunk.ChunkResult) -> list[str]:
    return [u.key for u in result.units]


def test_units_and_failures_come_back_in_the_order_of_the_chunk() -> None:
    loader = Loader(failing=frozenset({f"sha256:{i:064x}" for i in (0, 5, 6, 40)}))
    work = _work(loader, 64)
    result = inspect_chunk(work, POLICY, NOW)
    kept = [f.key for i, f in enumerate(work) if i not in (0, 5, 6, 40)]
    assert _keys(result) == kept
    assert list(result.skipped) == [
        f"oci:store:t{i}: skipped, store failed: connection reset" for i in (0, 5, 6, 40)
    ]
    rows = result.tables()["verifications"].to_pylist()
    assert [r["manifest_digest"] for r in rows] == kept


def test_reads_overlap_and_run_at_most_a_few_units_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first two reads wait for each other: read one after another, they never would.
    loader = Loader(barrier=threading.Barrier(2, timeout=10))
    work = _work(loader, 40)
    ahead: list[int] = []
    inspected = 0
    real = chunk.inspect_unit

    def counting(unit: Unit, policy: TrustPolicy, now: datetime) -> Iterator[object]:
        nonlocal inspected
        loader.barrier = None
        ahead.append(len(loader.started) - inspected)
        inspected += 1
        return real(unit, policy, now)  # type: ignore[return-value]

    monkeypatch.setattr(chunk, "inspect_unit", counting)
    result = inspect_chunk(work, POLICY, NOW)
    assert _keys(result) == [f.key for f in work]
    assert max(ahead) <= READ_AHEAD + 1  # bounded: the chunk is not read whole at once
    assert max(ahead) > 1


def test_a_loader_bug_is_raised_not_taken_for_a_store_failure() -> None:
    loader = Loader(buggy=frozenset({f"sha256:{3:064x}"}))
    with pytest.raises(ZeroDivisionError, match="a loader bug"):
        inspect_chunk(_work(loader, 10), POLICY, NOW)


def test_a_unit_alone_is_read_in_this_thread() -> None:
    seen: list[str] = []

    def loader(key: str, source: str) -> Unit:
        seen.append(threading.current_thread().name)
        return Unit(key, source, error="manifest unreadable")

    inspect_chunk([Fetch(loader, "sha256:" + "a" * 64, "oci:store:t")], POLICY, NOW)
    assert seen == [threading.current_thread().name]
