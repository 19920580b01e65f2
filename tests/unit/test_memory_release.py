"""Freed memory goes back to the operating system between a crawl's batches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

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
code = run(sys.argv[1:])
print(json.dumps([before, pa.default_memory_pool().backend_name, len(kept.to_pylist()), code]))
"""


def _printed(tmp_path: Path, script: str, *args: str) -> Any:
    """Run ``script`` in a Python process of its own (it must succeed): the JSON it prints
    last."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _returning_pool(before: str) -> str:
    """The pool a process that prefers one returning freed pages ends with: jemalloc where
    pyarrow has it, else the one it had."""
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return before
    return "jemalloc"


def test_the_crawl_and_reverify_commands_move_arrow_to_jemalloc_where_pyarrow_has_it(
    tmp_path: Path,
) -> None:
    """A crawling or re-evaluating process uses jemalloc for Arrow's buffers (it returns
    freed pages sooner than pyarrow's default, mimalloc); buffers from before stay readable."""
    (tmp_path / "empty").mkdir()
    trust = tmp_path / "trust.yaml"
    trust.write_text("keys: []\n", encoding="utf-8")
    lake = str(tmp_path / "lake")
    crawl = ["crawl", "--from", str(tmp_path / "empty"), "--lake", lake, "--trust", str(trust)]
    for args in ([*crawl, "--allow-empty"], ["reverify", "--lake", lake, "--trust", str(trust)]):
        before, after, kept, code = _printed(tmp_path, CRAWLING, *args)
        assert kept == 1000  # a buffer from the pool before stays readable
        assert code == 0, args[0]
        assert after == _returning_pool(before), args[0]


WORKER = """
import gc, json, os, sys
import pyarrow as pa
from attestlake.crawl.inspection import _start_worker
before = pa.default_memory_pool().backend_name
frozen = gc.get_freeze_count()
_start_worker(sys.argv[1], os.getpid())
print(json.dumps([before, pa.default_memory_pool().backend_name, frozen, gc.get_freeze_count()]))
"""


@pytest.fixture(scope="module")
def started_worker(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What WORKER printed: Arrow's pool before and after a worker started, and the objects
    frozen before and after (one worker process for the tests that read it)."""
    folder = tmp_path_factory.mktemp("worker")
    trust = folder / "trust.yaml"
    trust.write_text("keys: []\n", encoding="utf-8")
    return _printed(folder, WORKER, str(trust))


def test_crawl_workers_start_on_jemalloc_where_pyarrow_has_it(started_worker: Any) -> None:
    """Each worker process of a crawl or re-evaluation moves Arrow to jemalloc as it starts,
    before it reads its first chunk."""
    before, after, _, _ = started_worker
    assert after == _returning_pool(before)


def test_crawl_workers_freeze_what_they_inherited(started_worker: Any) -> None:
    """A worker's collector leaves alone the objects it inherited from the server it forked
    from (pyarrow's and the verifiers' modules): walking them would write to each object's
    header and copy every page they are on into the worker."""
    _, _, before, after = started_worker
    assert before == 0
    assert after > 10_000  # pyarrow's and attestlake's modules, functions, classes
