"""Freed memory goes back to the operating system between a crawl's batches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


CRAWLING = """
import json, sys
import pyarrow as pa
before = pa.default_memory_pool().backend_name
kept = pa.array([b"x" * 1024] * 1000)  # allocated from the pool before
from attestlake._cli.dispatch import run
code = run(["crawl", "--from", sys.argv[1], "--lake", sys.argv[2], "--trust", sys.argv[3],
            "--allow-empty"])
print(json.dumps([before, pa.default_memory_pool().backend_name, len(kept.to_pylist()), code]))
"""


def test_the_crawl_command_moves_arrow_to_jemalloc_where_pyarrow_has_it(tmp_path: Path) -> None:
    """A crawling process uses jemalloc for Arrow's buffers (it returns freed pages sooner
    than pyarrow's default, mimalloc); buffers from before stay readable."""
    (tmp_path / "empty").mkdir()
    trust = tmp_path / "trust.yaml"
    trust.write_text("keys: []\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", CRAWLING, *(str(tmp_path / p) for p in ("empty", "lake", trust))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    before, after, kept, code = json.loads(proc.stdout.strip().splitlines()[-1])
    assert kept == 1000  # a buffer from the pool before stays readable
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        assert after == before
    else:
        assert after == "jemalloc"
    assert code == 0, proc.stderr
