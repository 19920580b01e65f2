"""kill -9 at any moment, then crawl again: the lake an uninterrupted crawl makes. Two crawls at
once: the same lake, no duplicates.

The crawler that is killed runs in a subprocess: killed at chosen points by
``tests/crawl_killer.py`` (a crawl whose ``on_written`` callback SIGKILLs it right after one
chosen write, ``BATCH:TABLE``), and at arbitrary moments by SIGKILL from the test (``attestlake
crawl``). The crawls that resume, and the reference crawl, run ``attestlake crawl`` in this
process; two crawls at once are two processes. Lakes are
compared table by table as sorted row sets, crawl times left out.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from attestlake.lake import write
from tests.integration.cli_helpers import run_cli
from tests.integration.test_crawl_store import (
    Signer,
    assert_no_duplicate_keys,
    build_store,
    lake_rows,
    make_signer,
)

BATCH = "3"  # 17 crawl units: 6 batches


KILLER = Path(__file__).resolve().parents[1] / "crawl_killer.py"


def _command(
    store: Path, lake: Path, trust: Path, *extra: str, kill_at: str | None = None
) -> list[str]:
    """``attestlake crawl`` (``--json``), or with ``kill_at`` the crawl that kills itself."""
    head = [sys.executable, "-m", "attestlake._cli", "crawl"]
    if kill_at:
        head = [sys.executable, str(KILLER), "--kill-at", kill_at, "--"]
    tail = ["--json"] if not kill_at else []
    return [
        *head,
        "--from",
        str(store),
        "--lake",
        str(lake),
        "--trust",
        str(trust),
        "--batch-size",
        BATCH,
        *tail,
        *extra,
    ]


def _env(tmp: Path, mark: str = "") -> dict[str, str]:
    env = {
        "ATTESTLAKE_TEST_MARK": mark,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "XDG_CACHE_HOME": str(tmp / "xdg"),
        "XDG_DATA_HOME": str(tmp / "xdg"),
    }
    return env


def _crawl(
    tmp: Path,
    store: Path,
    lake: Path,
    trust: Path,
    kill_at: str | None = None,
    *extra: str,
) -> int:
    """A crawl that completes (in this process, exit code 0), or one that kills itself at
    ``kill_at`` (a subprocess, -SIGKILL, given the killer's ``extra`` arguments)."""
    if kill_at is None:
        done = run_cli(tmp, *_command(store, lake, trust)[3:])
        assert done.code == 0, done.err
        return done.code
    proc = subprocess.run(
        [*_command(store, lake, trust, kill_at=kill_at), *extra],
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == (0 if kill_at is None else -signal.SIGKILL), proc.stderr
    return proc.returncode


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Signer, object]:
    """A store, its trust policy, and the lake an uninterrupted crawl makes of it."""
    tmp = tmp_path_factory.mktemp("resume")
    signer = make_signer(tmp / "keys")
    build_store(tmp / "store", signer)
    assert _crawl(tmp, tmp / "store", tmp / "reference", signer.trust) == 0
    return tmp, tmp / "store", signer, lake_rows(tmp / "reference")


@pytest.mark.parametrize(
    "kills",
    [
        ["1:first"],
        ["2:sbom_components"],
        ["3:attestations"],
        ["4:verifications"],  # after a batch committed, before the next one
        ["2:runs", "1:subjects", "3:attestations"],  # killed again while resuming
    ],
    ids=lambda k: "+".join(k),
)
def test_killed_crawl_resumes_to_the_same_lake(
    world: tuple[Path, Path, Signer, object], tmp_path: Path, kills: list[str]
) -> None:
    _, store, signer, reference = world
    lake = tmp_path / "lake"
    for kill_at in kills:
        assert _crawl(tmp_path, store, lake, signer.trust, kill_at) == -signal.SIGKILL
    assert _crawl(tmp_path, store, lake, signer.trust) == 0
    assert lake_rows(lake) == reference
    assert_no_duplicate_keys(lake)


@pytest.mark.parametrize("kills", [["3:runs"], ["4:verifications", "1:crawls"]], ids="+".join)
def test_a_crawl_killed_after_merging_files_resumes_to_the_same_lake(
    world: tuple[Path, Path, Signer, object],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kills: list[str],
) -> None:
    """Each table's small files merged every second batch, by the crawls that are killed and
    the one that resumes: the rows the resuming crawl deletes sit in merged files."""
    _, store, signer, reference = world
    lake = tmp_path / "lake"
    for kill_at in kills:
        killed = _crawl(tmp_path, store, lake, signer.trust, kill_at, "--merge-after", "2")
        assert killed == -signal.SIGKILL
    history = DeltaTable(str(lake / "runs")).history()
    assert any(c["operation"] == "OPTIMIZE" for c in history)
    monkeypatch.setattr(write, "MERGE_AFTER", 2)
    assert _crawl(tmp_path, store, lake, signer.trust) == 0
    assert lake_rows(lake) == reference
    assert_no_duplicate_keys(lake)


@pytest.mark.parametrize("delay", [0.6, 1.0, 1.4])
def test_crawl_killed_at_an_arbitrary_moment_resumes(
    world: tuple[Path, Path, Signer, object], tmp_path: Path, delay: float
) -> None:
    _, store, signer, reference = world
    lake = tmp_path / "lake"
    proc = subprocess.Popen(
        _command(store, lake, signer.trust),
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        time.sleep(delay)  # wherever the crawl is then (it may even have finished)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert _crawl(tmp_path, store, lake, signer.trust) == 0
    assert lake_rows(lake) == reference
    assert_no_duplicate_keys(lake)


def test_two_crawls_at_once_give_one_lake(
    world: tuple[Path, Path, Signer, object], tmp_path: Path
) -> None:
    _, store, signer, reference = world
    lake = tmp_path / "lake"
    procs = [
        subprocess.Popen(
            _command(store, lake, signer.trust),
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    assert lake_rows(lake) == reference
    assert_no_duplicate_keys(lake)


def test_a_copied_store_is_not_ingested_twice(
    world: tuple[Path, Path, Signer, object], tmp_path: Path
) -> None:
    """The unit key is the manifest digest: the same manifests elsewhere are already known."""
    _, store, signer, _ = world
    shutil.copytree(store, tmp_path / "copy")
    lake = tmp_path / "lake"
    assert _crawl(tmp_path, store, lake, signer.trust) == 0
    before = lake_rows(lake)
    assert _crawl(tmp_path, tmp_path / "copy", lake, signer.trust) == 0
    assert lake_rows(lake) == before


def _marked(mark: str) -> list[int]:
    """Processes (the crawler's worker processes) whose environment carries ``mark``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and f"ATTESTLAKE_TEST_MARK={mark}".encode() in (
                proc / "environ"
            ).read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_killed_parallel_crawl_resumes_and_leaves_no_workers(tmp_path: Path) -> None:
    """Batches big enough for worker processes; kill -9 mid-batch; the workers end too."""
    signer = make_signer(tmp_path / "keys")
    store = tmp_path / "store"
    build_store(store, signer, runs=140)
    command = [*_command(store, tmp_path / "reference", signer.trust), "--jobs", "1"]
    command[command.index("--batch-size") + 1] = "70"
    env = _env(tmp_path)
    assert subprocess.run(command, env=env, capture_output=True, timeout=300).returncode == 0
    mark = os.urandom(8).hex()
    lake = tmp_path / "lake"
    command = [*_command(store, lake, signer.trust, kill_at="2:attestations"), "--jobs", "2"]
    command[command.index("--batch-size") + 1] = "70"
    temporary = tmp_path / "tmp"  # where the workers write the chunks' rows for the crawler
    temporary.mkdir()
    env_killed = {**_env(tmp_path, mark), "TMPDIR": str(temporary)}
    killed = subprocess.run(command, env=env_killed, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 60
    while _marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _marked(mark) == [], "worker processes outlived the killed crawler"
    left = list(temporary.glob("attestlake-chunks-*"))
    assert left == [], "the killed crawl's rows were left behind"
    command = [*_command(store, lake, signer.trust), "--jobs", "2"]
    command[command.index("--batch-size") + 1] = "70"
    assert subprocess.run(command, env=env, capture_output=True, timeout=300).returncode == 0
    assert lake_rows(lake) == lake_rows(tmp_path / "reference")
    assert_no_duplicate_keys(lake)
