"""Attacks on the lake's history through the crawler's clean-up after an interrupted crawl.

The clean-up deletes only rows it can prove came from an unfinished crawl: rows whose
``crawl_id`` the ``crawls`` journal records as started and never completed, of crawl units that
crawl never completed. A lake whose tables disagree (a table or its transaction log gone, the
journal gone, a table that lost rows) stops the crawl with an error naming the damage, exit 1,
and not one row of any table is deleted.

The lakes are real: the demo organisation's store crawled by the library (``attestlake demo``),
crawled again by the real CLI in a subprocess; rows are counted with deltalake directly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable, write_deltalake

from attestlake.demo.demo import DemoResult
from attestlake.lake.tables import BLOBS, REBUILT_TABLES, TABLES, TRUST_CHANGES, UNIT_TABLES
from tests.demo_lake import copy_demo
from tests.integration.cli_helpers import Result, run_cli
from tests.integration.test_crawl_store import assert_no_duplicate_keys, lake_rows

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
#: A crawl that SIGKILLs itself right after one chosen write (``--kill-at BATCH:TABLE``).
KILLER = Path(__file__).resolve().parents[1] / "crawl_killer.py"
#: Tables a damage must never cost a row, whatever table is damaged.
COMPLETION = ("verifications", "published_documents")


@pytest.fixture(name="demo")
def demo_copy(demo: DemoResult, tmp_path: Path) -> Path:
    """A private copy of the demo directory: store/, trust.yaml and lake/."""
    return copy_demo(demo, tmp_path / "demo")


def crawl_cli(demo: Path, lake: Path, *extra: str) -> Result:
    return run_cli(
        demo,
        "crawl",
        "--from",
        str(demo / "store"),
        "--lake",
        str(lake),
        "--trust",
        str(demo / "trust.yaml"),
        *extra,
    )


def read(lake: Path, table: str) -> pa.Table:
    return DeltaTable(str(lake / table)).to_pyarrow_dataset().to_table()


def row_counts(lake: Path) -> dict[str, int]:
    """Rows of every table that is a Delta table, read by deltalake itself."""
    return {
        t.name: DeltaTable(str(lake / t.name)).to_pyarrow_dataset().count_rows()
        for t in TABLES
        if DeltaTable.is_deltatable(str(lake / t.name))
    }


def data_files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*.parquet"))


def journal(lake: Path) -> list[dict[str, Any]]:
    rows = read(lake, "crawls").to_pylist()
    return sorted(rows, key=lambda r: (r["at"], r["event"] != "started"))


def rewrite(lake: Path, table: str, data: pa.Table, *, drop: tuple[str, ...] = ()) -> None:
    """Replace ``table`` by a new Delta table (a valid log) holding ``data`` minus ``drop``
    columns: a restored older copy, or a table written by an older attestlake."""
    spec = next(t for t in TABLES if t.name == table)
    schema = pa.schema([f for f in spec.schema if f.name not in drop])
    shutil.rmtree(lake / table)
    partition = list(spec.partition_by) or None
    DeltaTable.create(str(lake / table), schema, partition_by=partition)
    if data.num_rows:
        write_deltalake(
            str(lake / table), data.select(schema.names), mode="append", partition_by=partition
        )


@pytest.mark.attack("loss")
def test_the_demo_lake_is_journalled(demo: Path) -> None:
    lake = demo / "lake"
    assert row_counts(lake)["runs"] == 109
    started, batch, completed = journal(lake)
    assert [started["event"], batch["event"], completed["event"]] == [
        "started",
        "batch",
        "completed",
    ]
    assert started["crawl_id"] == batch["crawl_id"] == completed["crawl_id"]
    assert batch["batch"] == 1
    assert json.loads(batch["rows"])["runs"] == json.loads(completed["rows"])["runs"] == 109
    for table in UNIT_TABLES:
        data = read(lake, table.name)
        assert set(data.column("crawl_id").to_pylist()) <= {started["crawl_id"]}, table.name
        assert set(data.column("crawl_batch").to_pylist()) <= {1}, table.name


@pytest.mark.attack("loss")
@pytest.mark.parametrize("table", ["verifications", "published_documents", "crawls"])
def test_a_lost_transaction_log_stops_the_crawl_and_deletes_nothing(demo: Path, table: str) -> None:
    lake = demo / "lake"
    before = row_counts(lake)
    files = data_files(lake / table)
    shutil.rmtree(lake / table / "_delta_log")

    result = crawl_cli(demo, lake)

    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    assert table in result.err and "lake check" in result.err, result.err
    assert row_counts(lake) == {t: n for t, n in before.items() if t != table}
    assert data_files(lake / table) == files
    assert not (lake / table / "_delta_log").exists(), "the damaged table was recreated"


@pytest.mark.attack("loss")
@pytest.mark.parametrize("table", ["verifications", "published_documents", "crawls"])
def test_a_lost_table_directory_stops_the_crawl_and_deletes_nothing(demo: Path, table: str) -> None:
    lake = demo / "lake"
    before = row_counts(lake)
    shutil.rmtree(lake / table)

    result = crawl_cli(demo, lake)

    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    assert table in result.err and "lake check" in result.err, result.err
    assert row_counts(lake) == {t: n for t, n in before.items() if t != table}
    assert not (lake / table).exists(), "the lost table was recreated empty"


@pytest.mark.attack("loss")
def test_a_completion_table_that_lost_rows_stops_the_crawl_and_deletes_nothing(
    demo: Path,
) -> None:
    """``verifications`` restored from an older copy: a valid log, but rows of runs are gone.
    Those runs were completed by a finished crawl: their rows are not orphans."""
    lake = demo / "lake"
    verifications = read(lake, "verifications")
    runs = sorted(set(read(lake, "runs").column("manifest_digest").to_pylist()))[:10]
    kept = verifications.filter(
        pc.invert(pc.is_in(verifications["manifest_digest"], pa.array(runs)))
    )
    rewrite(lake, "verifications", kept)
    before = row_counts(lake)

    result = crawl_cli(demo, lake)

    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    assert "verifications" in result.err and "runs" in result.err, result.err
    assert "lake check" in result.err
    assert row_counts(lake) == before


@pytest.mark.attack("loss")
@pytest.mark.parametrize(
    "kill_at", ["3:runs", "4:attestations", "1:published_documents", "2:verifications", "2:crawls"]
)
def test_a_killed_crawl_is_cleaned_by_the_next_and_only_its_unjournalled_batch(
    demo: Path, tmp_path: Path, kill_at: str
) -> None:
    reference = tmp_path / "reference"
    assert crawl_cli(demo, reference).code == 0
    lake = tmp_path / "lake"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }
    command = [sys.executable, str(KILLER), "--kill-at", kill_at, "--from", str(demo / "store")]
    command += ["--lake", str(lake), "--trust", str(demo / "trust.yaml"), "--batch-size", "20"]
    killed = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    killed_id = journal(lake)[0]["crawl_id"]
    assert {r["event"] for r in journal(lake)} <= {"started", "batch"}
    last = max([r["batch"] for r in journal(lake) if r["event"] == "batch"], default=0)
    leftovers = {}
    for table in UNIT_TABLES:
        data = read(lake, table.name)
        assert set(data.column("crawl_id").to_pylist()) <= {killed_id}
        leftovers[table.name] = data.filter(pc.greater(data["crawl_batch"], last)).num_rows
    if kill_at.endswith(":crawls"):
        assert sum(leftovers.values()) == 0
    else:
        assert sum(leftovers.values()) > 0, "the kill left no rows to clean"
    journalled = set(read(lake, "verifications").column("manifest_digest").to_pylist())
    journalled -= set(
        read(lake, "verifications")
        .filter(pc.greater(read(lake, "verifications")["crawl_batch"], last))
        .column("manifest_digest")
        .to_pylist()
    )

    resumed = crawl_cli(demo, lake, "--json")

    assert resumed.code == 0, resumed.err
    # The units of the journalled batches stay, and are not read again.
    assert resumed.json()["already_known"] == len(journalled)
    assert journalled or kill_at.startswith("1:")
    assert lake_rows(lake) == lake_rows(reference)
    assert_no_duplicate_keys(lake)
    events = {(r["crawl_id"], r["event"]) for r in journal(lake) if r["event"] != "batch"}
    [after] = {crawl for crawl, _ in events} - {killed_id}
    assert events == {
        (killed_id, "started"),
        (killed_id, "interrupted"),
        (after, "started"),
        (after, "completed"),
    }
    [interrupted] = [r for r in journal(lake) if r["event"] == "interrupted"]
    assert json.loads(interrupted["rows"]) == {t: n for t, n in leftovers.items() if n}


def _legacy(lake: Path, without: set[str], keep_rows_of: frozenset[str] = frozenset()) -> None:
    """Turn ``lake`` into one written before the journal: no ``crawls`` table (nor ``blobs`` and
    ``trust_changes``, which came later), no ``crawl_id`` column. The rows of the crawl units
    ``without`` are left out of every table, except the tables in ``keep_rows_of`` (the
    leftovers of an old crawl killed mid-way)."""
    for later in ("crawls", BLOBS.name, TRUST_CHANGES.name):
        shutil.rmtree(lake / later)
    for table in REBUILT_TABLES:
        data = read(lake, table.name)
        if table.name not in keep_rows_of:
            data = data.filter(
                pc.invert(pc.is_in(data["manifest_digest"], pa.array(sorted(without), pa.string())))
            )
        rewrite(lake, table.name, data, drop=("crawl_id",))


def _some_runs(lake: Path, n: int) -> set[str]:
    return set(sorted(set(read(lake, "runs").column("manifest_digest").to_pylist()))[:n])


@pytest.mark.attack("loss")
def test_a_lake_from_before_the_journal_crawls_and_deletes_nothing(demo: Path) -> None:
    lake = demo / "lake"
    reference = row_counts(lake)
    missing = _some_runs(lake, 5)
    _legacy(lake, missing)
    legacy = {t.name: read(lake, t.name) for t in REBUILT_TABLES}
    assert "crawl_id" not in legacy["runs"].column_names

    result = crawl_cli(demo, lake, "--json")

    assert result.code == 0, result.err
    assert result.json()["ingested"] == 5
    # the verdicts in the lake were made under a policy it did not record, and cannot be made
    # again (no bytes kept): the crawl says so and re-evaluates nothing
    assert result.json()["reverified"] is None
    assert any("kept no bytes" in w for w in result.json()["warnings"])
    counts = row_counts(lake)
    assert {t: n for t, n in counts.items() if t not in (BLOBS.name, TRUST_CHANGES.name)} == {
        t: n for t, n in reference.items() if t not in (BLOBS.name, TRUST_CHANGES.name)
    }
    kept = set(read(lake, BLOBS.name).column("manifest_digest").to_pylist())
    assert kept == missing  # the bytes of what this crawl read, and only those
    started, batch, completed = journal(lake)
    assert [r["event"] for r in (started, batch, completed)] == ["started", "batch", "completed"]
    for table in REBUILT_TABLES:
        after = read(lake, table.name)
        if "crawl_id" not in after.column_names:  # no new rows: the table kept its schema
            after = after.append_column("crawl_id", pa.nulls(after.num_rows, pa.string()))
        old = after.filter(pc.is_null(after["crawl_id"]))
        old = old.drop_columns([c for c in ("crawl_id", "crawl_batch") if c in old.column_names])
        was = legacy[table.name].select(old.column_names)
        assert sorted(map(repr, old.to_pylist())) == sorted(map(repr, was.to_pylist())), table.name
        new = after.filter(pc.invert(pc.is_null(after["crawl_id"])))
        assert set(new.column("crawl_id").to_pylist()) <= {started["crawl_id"]}
        assert set(new.column("manifest_digest").to_pylist()) <= missing


@pytest.mark.attack("loss")
def test_leftovers_of_an_old_interrupted_crawl_stop_the_crawl_and_are_kept(demo: Path) -> None:
    """Rows from before the journal cannot be proven to come from an unfinished crawl: rows of
    units that verifications does not record are reported, never deleted."""
    lake = demo / "lake"
    _legacy(lake, _some_runs(lake, 3), keep_rows_of=frozenset({"runs", "subjects", "materials"}))
    before = row_counts(lake)

    result = crawl_cli(demo, lake)

    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    assert "runs" in result.err and "lake check" in result.err, result.err
    assert row_counts(lake) == before
    assert not (lake / "crawls").exists()


@pytest.mark.attack("loss")
@pytest.mark.parametrize("table", ["verifications", "published_documents"])
def test_a_lake_from_before_the_journal_that_lost_a_log_stops_the_crawl(
    demo: Path, table: str
) -> None:
    lake = demo / "lake"
    _legacy(lake, set())
    before = row_counts(lake)
    shutil.rmtree(lake / table / "_delta_log")

    result = crawl_cli(demo, lake)

    assert result.code == 1, result.err
    assert "Traceback" not in result.err
    assert table in result.err and "lake check" in result.err, result.err
    assert row_counts(lake) == {t: n for t, n in before.items() if t != table}
    assert not (lake / "crawls").exists()


@pytest.mark.attack("loss")
@pytest.mark.parametrize("table", ["runs", "sbom_components", "verifications"])
def test_a_deleted_newest_log_entry_stops_the_crawl_and_lake_check_names_it(
    demo: Path, table: str
) -> None:
    """Without its newest log entry a table silently reads as its previous version: the journal
    knows how many rows each batch wrote, so the lost rows are found, not crawled over."""
    lake = demo / "lake"
    newest = sorted((lake / table / "_delta_log").glob("*.json"))[-1]
    newest.unlink()
    before = row_counts(lake)

    crawled = crawl_cli(demo, lake)

    assert crawled.code == 1, crawled.err
    assert "Traceback" not in crawled.err
    assert f"table {table} holds 0 row(s) of batch 1 of crawl" in crawled.err, crawled.err
    assert "lost rows" in crawled.err and "lake check" in crawled.err
    assert row_counts(lake) == before
    checked = run_cli(demo, "lake", "check", "--lake", str(lake))
    assert checked.code == 1, checked.out
    assert f"table {table} holds 0 row(s)" in checked.out, checked.out
    assert "damaged" in checked.err


@pytest.mark.attack("loss")
def test_the_leftover_files_of_a_killed_write_are_a_note_not_damage(
    demo: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }
    command = [sys.executable, str(KILLER), "--kill-at", "2:runs", "--from", str(demo / "store")]
    command += ["--lake", str(lake), "--trust", str(demo / "trust.yaml"), "--batch-size", "20"]
    killed = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert crawl_cli(demo, lake).code == 0  # cleans batch 2 of the killed crawl
    (lake / "runs" / "stray").mkdir()
    (lake / "runs" / "stray" / "part-0.parquet").write_bytes(b"PAR1 left by a killed write")

    checked = run_cli(demo, "lake", "check", "--lake", str(lake))

    assert checked.code == 0, checked.out
    assert "is healthy" in checked.err
    assert "note: runs/stray/part-0.parquet: in no log entry" in checked.out, checked.out
