"""``lake export`` (plain Parquet for tools without Delta) and ``lake vacuum --retain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from attestlake import open_lake
from attestlake.demo.demo import DemoResult
from attestlake.lake.consistency import check
from attestlake.lake.tables import TABLES
from tests.demo_lake import copy_demo
from tests.integration.cli_helpers import run_cli


def _rows(sql: str) -> list[tuple[Any, ...]]:
    return sorted(duckdb.sql(sql).fetchall(), key=repr)


def test_export_writes_every_table_as_plain_parquet(tmp_path: Path, demo: DemoResult) -> None:
    out = run_cli(tmp_path, "lake", "export", "--lake", str(demo.lake), "export")
    assert out.code == 0, out.err
    with open_lake(demo.lake) as lake:
        for table in TABLES:
            columns = ", ".join(f'"{c}"' for c in table.schema.names)
            want = sorted(
                lake.con.sql(f'SELECT {columns} FROM "{table.name}"').fetchall(), key=repr
            )
            files = tmp_path / "export" / table.name
            got = (
                _rows(
                    f"SELECT {columns} FROM read_parquet('{files}/**/*.parquet', "
                    "hive_partitioning = true, hive_types_autocast = false, union_by_name = true)"
                )
                if any(files.rglob("*.parquet"))
                else []
            )
            assert [tuple(map(str, r)) for r in got] == [tuple(map(str, r)) for r in want], (
                table.name
            )
            assert f"{table.name}: {len(want)} row(s)" in out.out
    assert not list(tmp_path.glob(".export-*"))  # the scratch directory was renamed into place


def test_export_refuses_what_it_could_spoil(tmp_path: Path, demo: DemoResult) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("keep")
    for target, says in (
        ("full", "exists and is not an empty directory"),
        (str(demo.lake / "inside"), "is inside the lake"),
    ):
        out = run_cli(tmp_path, "lake", "export", "--lake", str(demo.lake), target)
        assert out.code == 1 and says in out.err, out.err
    assert (tmp_path / "full" / "keep.txt").read_text() == "keep"
    assert not (demo.lake / "inside").exists()
    not_lake = run_cli(tmp_path, "lake", "export", "--lake", "full", "out")
    assert not_lake.code == 1 and "not a lake" in not_lake.err
    bad = run_cli(tmp_path, "lake", "export", "--lake", str(demo.lake), "x", "--format", "csv")
    assert bad.code == 2 and "parquet" in bad.err
    assert not (tmp_path / "out").exists() and not (tmp_path / "x").exists()


def test_vacuum_deletes_superseded_files_and_keeps_every_row(
    tmp_path: Path, demo: DemoResult
) -> None:
    org = copy_demo(demo, tmp_path / "demo")
    lake = org / "lake"
    policy = (org / "trust.yaml").read_text()  # the store the demo lake's rows name
    (org / "trust.yaml").write_text(policy.replace("[oci:store]", f"['oci:{demo.store}']"))
    with open_lake(lake) as opened:
        before = {
            t.name: opened.sql(f'SELECT count(*) AS n FROM "{t.name}"').to_pylist() for t in TABLES
        }
    # a re-evaluation rewrites every table: the old files are superseded
    assert run_cli(org, "reverify", "--lake", "lake", "--trust", "trust.yaml").code == 0
    files = sum(1 for _ in lake.rglob("*.parquet"))
    kept = run_cli(org, "lake", "vacuum", "--lake", "lake")  # default: a week of snapshots
    assert kept.code == 0 and sum(1 for _ in lake.rglob("*.parquet")) == files
    done = run_cli(org, "lake", "vacuum", "--lake", "lake", "--retain", "0")
    assert done.code == 0, done.err
    assert sum(1 for _ in lake.rglob("*.parquet")) < files
    with open_lake(lake) as opened:
        after = {
            t.name: opened.sql(f'SELECT count(*) AS n FROM "{t.name}"').to_pylist() for t in TABLES
        }
    after.pop("crawls"), before.pop("crawls")  # the re-evaluation journalled itself
    assert after == before
    assert not check(lake).problems
    negative = run_cli(org, "lake", "vacuum", "--lake", "lake", "--retain", "-1")
    assert negative.code == 2


def _log_entries(lake: Path) -> dict[str, int]:
    return {
        d.name: sum(1 for _ in (d / "_delta_log").glob("*.json"))
        for d in lake.iterdir()
        if (d / "_delta_log").is_dir()
    }


def test_a_vacuum_with_nothing_left_to_delete_commits_nothing(
    tmp_path: Path, demo: DemoResult
) -> None:
    """The files a vacuum deleted stay named by the log's tombstones: a second vacuum finds
    none of them stored, says so, and adds no entry to any table's log."""
    org = copy_demo(demo, tmp_path / "demo")
    lake = org / "lake"
    policy = (org / "trust.yaml").read_text()  # the store the demo lake's rows name
    (org / "trust.yaml").write_text(policy.replace("[oci:store]", f"['oci:{demo.store}']"))
    # a re-evaluation rewrites every table: the old files are superseded
    assert run_cli(org, "reverify", "--lake", "lake", "--trust", "trust.yaml").code == 0
    first = run_cli(org, "lake", "vacuum", "--lake", "lake", "--retain", "0")
    assert first.code == 0, first.err
    assert "runs: 0 file(s)" not in first.out and "runs: " in first.out
    entries, files = _log_entries(lake), sorted(lake.rglob("*.parquet"))
    again = run_cli(org, "lake", "vacuum", "--lake", "lake", "--retain", "0")
    assert again.code == 0, again.err
    counted = [line for line in again.out.splitlines() if "file(s) deleted" in line]
    assert counted and all(line.endswith(": 0 file(s) deleted") for line in counted), again.out
    assert _log_entries(lake) == entries
    assert sorted(lake.rglob("*.parquet")) == files
    assert not check(lake).problems
