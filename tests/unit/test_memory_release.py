"""Freed memory goes back to the operating system between a crawl's batches."""

from __future__ import annotations

import pyarrow as pa

from attestlake._internal.memory_release import give_back


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_freed_arrow_buffers_and_heap_are_returned() -> None:
    """A batch's worth of Arrow buffers and Python objects, freed: the process's resident
    memory falls back by most of it once the pages are given back."""
    before = _rss_kib()
    table = pa.table({"blob": [b"x" * 4096 for _ in range(20_000)]})  # ~80 MiB of buffers
    rows = [("row", i, str(i) * 20) for i in range(300_000)]  # small objects on the C heap
    held = _rss_kib()
    assert held - before > 60_000
    del table, rows
    give_back()
    assert _rss_kib() - before < (held - before) / 2
