"""A worker sends a chunk's rows as a file of its crawl's private folder, which the crawler
maps and removes: nothing of it is left once the crawl is done, a file that is gone or wrong
has its chunk inspected again in the crawler, and a worker that cannot write one sends its
rows through the pool's pipe."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from attestlake.crawl.chunk import Tables, Work, merged
from attestlake.crawl.inspection import Inspector, _Spooled, _unspooled
from attestlake.crawl.sources.store import StoreSource
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests.integration.test_crawl_store import (
    NOW,
    Signer,
    _counting_here,
    build_store,
    make_signer,
)


@pytest.fixture
def store(tmp_path: Path) -> tuple[LayoutStore, Signer]:
    signer = make_signer(tmp_path / "keys")
    return build_store(tmp_path / "store", signer), signer


def _rows(tables: Tables) -> dict[str, Any]:
    return {name: table.to_pylist() for name, table in tables.items()}


def _serial(candidates: list[Work], signer: Signer) -> dict[str, Any]:
    with Inspector(load_policy(signer.trust), NOW, jobs=1) as inspector:
        return _rows(merged([inspector.submit(list(candidates))()])[0])


def _started(signer: Signer, monkeypatch: pytest.MonkeyPatch) -> tuple[Inspector, list[int]]:
    """An inspector whose workers started, and the units of each chunk it then inspects in
    this process."""
    inspector = Inspector(load_policy(signer.trust), NOW, jobs=2, parallel_min=1)
    inspector._seen = 1  # the next chunk starts the workers
    inspector._start_workers()
    assert inspector.started(timeout=120)
    return inspector, _counting_here(inspector, monkeypatch)


def _files_appear(folder: Path, count: int) -> list[Path]:
    deadline = time.monotonic() + 120
    while len(files := sorted(folder.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return files


def test_results_come_as_files_removed_once_read_and_the_folder_with_the_pool(
    store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, signer = store
    candidates: list[Work] = list(StoreSource(layout).candidates())
    chunks = [candidates[i : i + 4] for i in range(0, len(candidates), 4)]
    inspector, here = _started(signer, monkeypatch)
    with inspector:
        spool = Path(str(inspector._spool))
        assert spool.is_dir() and spool.stat().st_mode & 0o077 == 0  # this user's alone
        pending = [inspector.submit(list(c)) for c in chunks]
        files = _files_appear(spool, len(chunks))
        assert len(files) == len(chunks) and all(f.suffix == ".arrows" for f in files)
        assert all(f.stat().st_mode & 0o077 == 0 for f in files)
        results = [collect() for collect in pending]
        assert list(spool.iterdir()) == []  # each removed once read
        assert here == [] and not inspector.broken
        inspector.submit(list(chunks[0]))  # never collected
        assert _files_appear(spool, 1)
    assert not spool.exists()  # nor is what was never read left behind
    assert _rows(merged(results)[0]) == _serial(candidates, signer)


def test_a_result_file_gone_before_it_is_read_has_its_chunk_inspected_here(
    store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cleaner of the temporary folder, or a worker's file replaced by another of another
    size: the chunk is inspected again in this process, with the same rows."""
    layout, signer = store
    candidates: list[Work] = list(StoreSource(layout).candidates())
    inspector, here = _started(signer, monkeypatch)
    with inspector:
        spool = Path(str(inspector._spool))
        gone = inspector.submit(list(candidates[:5]))
        (file,) = _files_appear(spool, 1)
        file.unlink()
        resized = inspector.submit(list(candidates[5:]))
        (file,) = _files_appear(spool, 1)
        file.write_bytes(file.read_bytes()[:-1])  # a byte short
        results = [gone(), resized()]
        assert here == [5, len(candidates) - 5] and not inspector.broken
        assert list(spool.iterdir()) == []
    assert _rows(merged(results)[0]) == _serial(candidates, signer)


def test_a_worker_that_cannot_write_its_file_sends_its_rows_through_the_pipe(
    store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, signer = store
    candidates: list[Work] = list(StoreSource(layout).candidates())
    inspector, here = _started(signer, monkeypatch)
    with inspector:
        Path(str(inspector._spool)).rmdir()  # the folder gone: no file can be written
        result = inspector.submit(list(candidates))()
        assert here == [] and not inspector.broken  # inspected by a worker all the same
        assert all(isinstance(s, bytes) for s in result.streams.values())
    assert _rows(merged([result])[0]) == _serial(candidates, signer)


def test_only_a_file_of_the_spool_of_the_size_the_worker_said_is_read(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    outside = tmp_path / "result.arrows"
    outside.write_bytes(b"12345")
    with pytest.raises(OSError, match="not a result of this crawl"):
        _unspooled(_Spooled(str(outside), (("runs", 5),), (), ()), str(spool))
    assert outside.exists()  # not removed either
    with pytest.raises(OSError, match="not a result of this crawl"):  # the folder is gone
        _unspooled(_Spooled(str(spool / "result.arrows"), (("runs", 5),), (), ()), None)
    link = spool / "link.arrows"
    link.symlink_to(outside)
    with pytest.raises(OSError):  # a link is not followed
        _unspooled(_Spooled(str(link), (("runs", 5),), (), ()), str(spool))
    assert outside.read_bytes() == b"12345"
    longer = spool / "longer.arrows"
    longer.write_bytes(b"123456")
    with pytest.raises(OSError, match="6 bytes"):
        _unspooled(_Spooled(str(longer), (("runs", 5),), (), ()), str(spool))
    assert not longer.exists()  # read once, never again
    fine = spool / "fine.arrows"
    fine.write_bytes(b"abcde")
    result = _unspooled(_Spooled(str(fine), (("a", 2), ("b", 3)), (), ()), str(spool))
    assert {k: bytes(v) for k, v in result.streams.items()} == {"a": b"ab", "b": b"cde"}
    assert os.listdir(spool) == ["link.arrows"]  # the link is left for the folder's removal


def test_a_worker_whose_crawler_died_removes_the_spool(tmp_path: Path) -> None:
    """The crawler killed with -9 cannot remove its folder: its workers do, as they end."""
    import subprocess
    import sys

    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "left.arrows").write_bytes(b"rows")
    crawler = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from attestlake.crawl.inspection import _exit_with;"
            " _exit_with(int(sys.argv[1]), sys.argv[2])",
            str(crawler.pid),
            str(spool),
        ]
    )
    time.sleep(0.5)
    assert worker.poll() is None and spool.exists()  # waits while its crawler lives
    crawler.kill()
    crawler.wait()
    assert worker.wait(timeout=60) == 1
    assert not spool.exists()


def test_without_a_temporary_folder_the_rows_come_through_the_pipe(
    store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    layout, signer = store
    candidates: list[Work] = list(StoreSource(layout).candidates())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    inspector, here = _started(signer, monkeypatch)
    with inspector:
        assert inspector._spool is None
        result = inspector.submit(list(candidates))()
        assert here == [] and not inspector.broken
    assert _rows(merged([result])[0]) == _serial(candidates, signer)
