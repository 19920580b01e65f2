"""Attacks on the lake's files: a damaged lake, a full disk and awkward lake paths.

Every command that reads or writes a damaged lake stops with a clear error naming the table
and file (never a traceback or a Rust panic) and writes nothing; ``attestlake lake check``
diagnoses each damage.
"""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.cli_helpers import run_cli
from tests.lakefactory import BuiltLake
from tests.security.lake_fixtures import (
    RUNS,
    added_files,
    build,
    copy,
    count_runs,
    listing,
    log_entry,
    runs_files,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltLake, Path]:
    return build(tmp_path_factory.mktemp("damage"))


def _delete_parquet(lake: Path) -> str:
    path = runs_files(lake)[1]
    path.unlink()
    return str(path.relative_to(lake))


def _garble_parquet(lake: Path) -> str:
    """Same size, every byte but the magic numbers flipped: only reading it tells."""
    path = runs_files(lake)[1]
    raw = bytearray(path.read_bytes())
    for i in range(4, len(raw) - 4):
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))
    return str(path.relative_to(lake))


def _truncate_parquet(lake: Path) -> str:
    path = runs_files(lake)[1]
    path.write_bytes(path.read_bytes()[:100])
    return str(path.relative_to(lake))


def _delete_log_entry(lake: Path) -> str:
    log_entry(lake, 2).unlink()
    return "runs/_delta_log/00000000000000000002.json"


def _truncate_log_entry(lake: Path) -> str:
    path = log_entry(lake, RUNS)
    path.write_bytes(path.read_bytes()[:40])
    return f"runs/_delta_log/{RUNS:020d}.json"


def _empty_log_entry(lake: Path) -> str:
    log_entry(lake, RUNS).write_bytes(b"")
    return f"runs/_delta_log/{RUNS:020d}.json"


def _delete_whole_log(lake: Path) -> str:
    shutil.rmtree(lake / "runs" / "_delta_log")
    return "runs/_delta_log"


DAMAGE: dict[str, Callable[[Path], str]] = {
    "deleted_parquet": _delete_parquet,
    "garbled_parquet": _garble_parquet,
    "truncated_parquet": _truncate_parquet,
    "deleted_log_entry": _delete_log_entry,
    "truncated_log_entry": _truncate_log_entry,
    "empty_log_entry": _empty_log_entry,
    "deleted_log": _delete_whole_log,
}


def _command(name: str, lake: Path, built: BuiltLake) -> list[str]:
    return {
        "sql": ["sql", "--lake", str(lake), "SELECT count(*) FROM runs"],
        "query": ["query", "run", "failing_runs", "--lake", str(lake)],
        "report": ["report", "--lake", str(lake)],
        "crawl": [
            "crawl",
            "--from",
            str(built.root / "store"),
            "--lake",
            str(lake),
            "--trust",
            str(built.policy_path),
        ],
        "compact": ["compact", "--lake", str(lake)],
    }[name]


#: Compaction reads only the files it merges: a garbled file it leaves alone stays as it is.
NOT_MET = {("garbled_parquet", "compact")}


@pytest.mark.attack("crash")
@pytest.mark.parametrize(
    ("damage", "command"),
    [
        (damage, command)
        for damage in sorted(DAMAGE)
        for command in ("sql", "query", "report", "crawl", "compact")
        if (damage, command) not in NOT_MET
    ],
)
def test_a_damaged_lake_gives_an_error_naming_table_and_file(
    built: tuple[BuiltLake, Path], tmp_path: Path, damage: str, command: str
) -> None:
    lake = copy(built[1], tmp_path / "lake")
    file = DAMAGE[damage](lake)
    r = run_cli(tmp_path, *_command(command, lake, built[0]))
    assert r.code == 1, (r.out, r.err)
    assert "Traceback" not in r.err and "panicked" not in r.err, r.err
    assert "table runs" in r.err and file in r.err, r.err
    assert "restore the lake directory from a backup" in r.err.lower(), r.err


@pytest.mark.attack("loss")
@pytest.mark.parametrize(
    ("damage", "command"),
    [
        (damage, command)
        for damage in sorted(DAMAGE)
        for command in ("crawl", "compact")
        if (damage, command) not in NOT_MET
    ],
)
def test_writers_leave_a_damaged_lake_as_it_is(
    built: tuple[BuiltLake, Path], tmp_path: Path, damage: str, command: str
) -> None:
    """A crawl or compaction of a damaged lake would bury the damage (a new log entry over a
    gap, an empty table over orphaned data, a vacuum of the files a lost entry named)."""
    lake = copy(built[1], tmp_path / "lake")
    DAMAGE[damage](lake)
    before = listing(lake)
    assert run_cli(tmp_path, *_command(command, lake, built[0])).code == 1
    after = listing(lake)
    after.pop(".writer.lock", None)
    before.pop(".writer.lock", None)
    assert after == before


@pytest.mark.attack("crash")
@pytest.mark.parametrize("damage", [*sorted(DAMAGE), "deleted_newest_log_entry"])
def test_lake_check_diagnoses_each_damage(
    built: tuple[BuiltLake, Path], tmp_path: Path, damage: str
) -> None:
    lake = copy(built[1], tmp_path / "lake")
    if damage == "deleted_newest_log_entry":
        entry = log_entry(lake, RUNS)
        (added,) = added_files(entry)
        entry.unlink()  # the table silently goes back one version
        file = f"runs/{added}"
    else:
        file = DAMAGE[damage](lake)
    r = run_cli(tmp_path, "lake", "check", "--lake", str(lake))
    assert r.code == 1, r.out
    assert f"damaged: table runs, {file}:" in r.out, r.out
    assert "repair: " in r.out
    assert "is damaged" in r.err and "Traceback" not in r.err


@pytest.mark.attack("crash")
def test_lake_check_of_a_healthy_lake_exits_0(
    built: tuple[BuiltLake, Path], tmp_path: Path
) -> None:
    r = run_cli(tmp_path, "lake", "check", "--lake", str(built[1]), "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["healthy"] is True and doc["problems"] == []
    runs = next(t for t in doc["tables"] if t["name"] == "runs")
    assert (runs["version"], runs["files"], runs["rows"]) == (RUNS, RUNS, RUNS)


def _limited(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _cli(cwd: Path, *args: str, limit: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attestlake._cli", *args],
        cwd=cwd,
        # no bytecode written: under the size limit, Python would leave cut-short .pyc files
        # that every later import of the package then fails on
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(cwd),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        preexec_fn=_limited(limit),
        timeout=120,
    )


@pytest.mark.attack("loss")
def test_a_full_disk_during_a_crawl_loses_nothing(
    built: tuple[BuiltLake, Path], tmp_path: Path
) -> None:
    """Files cannot grow past 3000 bytes: the crawl stops with a clear error, leaves no
    half-written file, and the next crawl (space freed) ends with every run."""
    store = built[0]
    lake = tmp_path / "lake"
    args = ["crawl", "--from", str(store.root / "store"), "--lake", str(lake)]
    args += ["--trust", str(store.policy_path)]
    r = _cli(tmp_path, *args, limit=3000)
    assert r.returncode == 1, r.stderr
    assert "File too large (os error 27)" in r.stderr and "cannot " in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    check = run_cli(tmp_path, "lake", "check", "--lake", str(lake))
    assert check.code == 0, check.out
    assert run_cli(tmp_path, *args).code == 0
    assert count_runs(lake) == RUNS
    assert run_cli(tmp_path, "lake", "check", "--lake", str(lake)).code == 0


@pytest.mark.attack("crash")
def test_a_full_disk_while_writing_a_report_gives_a_clear_error(
    built: tuple[BuiltLake, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    args = ["report", "--lake", str(built[1]), "--format", "html", "--output", str(out)]
    r = _cli(tmp_path, *args, limit=2000)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith(f"error: cannot write {out}: File too large"), r.stderr
    assert not out.exists() and list(tmp_path.glob(".report*")) == []


@pytest.mark.attack("crash")
@pytest.mark.parametrize("name", ["with space", "100% #1 nön-ascii", "ünïcødé"])
def test_a_lake_path_with_awkward_characters_works(
    built: tuple[BuiltLake, Path], tmp_path: Path, name: str
) -> None:
    store = built[0]
    lake = tmp_path / name / "lake"
    crawl = ["crawl", "--from", str(store.root / "store"), "--lake", str(lake)]
    r = run_cli(tmp_path, *crawl, "--trust", str(store.policy_path))
    assert r.code == 0, r.err
    r = run_cli(tmp_path, "sql", "--lake", str(lake), "SELECT count(*) AS n FROM runs", "-f", "csv")
    assert (r.code, r.out.split()) == (0, ["n", str(RUNS)]), r.err
    r = run_cli(tmp_path, "query", "run", "failing_runs", "--lake", str(lake))
    assert r.code == 0, r.err
    assert run_cli(tmp_path, "report", "--lake", str(lake)).code == 0
    assert run_cli(tmp_path, "compact", "--lake", str(lake)).code == 0
    assert run_cli(tmp_path, "lake", "check", "--lake", str(lake)).code == 0
    assert count_runs(lake) == RUNS


@pytest.mark.attack("crash")
def test_a_lake_path_delta_rs_cannot_read_is_refused_clearly(
    built: tuple[BuiltLake, Path], tmp_path: Path
) -> None:
    store = built[0]
    lake = tmp_path / "pct%20x" / "lake"
    crawl = ["crawl", "--from", str(store.root / "store"), "--lake", str(lake)]
    r = run_cli(tmp_path, *crawl, "--trust", str(store.policy_path))
    assert r.code == 1 and "Traceback" not in r.err
    assert "contains '%20'" in r.err and "choose a lake directory" in r.err
