"""lake_check: the diagnosis of a damaged lake, table by table and file by file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from attestlake.lake.lake_check import UNLISTED, check_lake
from attestlake.lake.structure import RESTORE, Problem, structural_problems
from tests.lakefactory import raw_lake


def _lake(tmp_path: Path) -> Path:
    """runs: three commits of two rows each on two days (log entries 0 to 3)."""
    lake = tmp_path / "lake"
    for day in ("2024-05-01", "2024-05-02", "2024-05-01"):
        raw_lake(lake, {"runs": [{"run_id": f"{day}-{i}", "run_date": day} for i in range(2)]})
    return lake


def _files(lake: Path) -> list[Path]:
    return sorted((lake / "runs").glob("*.parquet"), key=lambda p: p.stat().st_mtime)


def _only(problems: tuple[Problem, ...] | list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_a_healthy_lake_has_no_problem_and_counts_rows(tmp_path: Path) -> None:
    health = check_lake(_lake(tmp_path))
    assert health.healthy and health.problems == ()
    runs = next(t for t in health.tables if t.name == "runs")
    assert (runs.present, runs.version, runs.files, runs.rows) == (True, 3, 3, 6)
    assert next(t for t in health.tables if t.name == "subjects").rows == 0


def test_a_missing_data_file_is_named(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    gone = _files(lake)[0]
    gone.unlink()
    problem = _only(check_lake(lake).problems)
    assert (problem.table, problem.file) == ("runs", str(gone.relative_to(lake)))
    assert problem.what == "data file is missing" and problem.repair == RESTORE
    assert structural_problems(lake) == [problem]


def test_a_garbled_data_file_of_the_same_size_is_found_by_reading_it(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    path = _files(lake)[1]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 - 20 : len(raw) // 2] = b"\x00" * 20
    raw[-12:-8] = b"\xff\xff\xff\x7f"  # the footer length
    path.write_bytes(bytes(raw))
    assert structural_problems(lake) == []  # same size: only a read tells
    problem = _only(check_lake(lake).problems)
    assert problem.file == str(path.relative_to(lake))
    assert problem.what.startswith("data file is not readable Parquet")


def test_a_truncated_data_file_is_found_by_its_size(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    path = _files(lake)[0]
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[:10])
    problem = _only(structural_problems(lake))
    assert (
        problem.what
        == f"data file has 10 bytes, its log entry says {size} (truncated or overwritten)"
    )


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        ("delete", "log entry 2 is missing (the log has entries up to 3)"),
        ("empty", "log entry 2 is empty"),
        ("truncate", "log entry 2 is truncated or garbled (line 1 is not a JSON object)"),
    ],
)
def test_a_damaged_log_entry_is_named(tmp_path: Path, damage: str, what: str) -> None:
    lake = _lake(tmp_path)
    entry = lake / "runs" / "_delta_log" / f"{2:020d}.json"
    if damage == "delete":
        entry.unlink()
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        entry.write_bytes(entry.read_bytes()[:30])
    problems = check_lake(lake).problems
    assert problems[0] == Problem(
        "runs", "runs/_delta_log/00000000000000000002.json", what, RESTORE
    )
    # the data file only that entry named is reported too
    assert [p.repair for p in problems[1:]] == [UNLISTED]
    assert structural_problems(lake) == [problems[0]]


def test_a_deleted_newest_log_entry_leaves_an_unlisted_data_file(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    newest = _files(lake)[-1]
    (lake / "runs" / "_delta_log" / f"{3:020d}.json").unlink()
    assert structural_problems(lake) == []  # the table is an earlier, valid version
    problem = _only(check_lake(lake).problems)
    assert problem.file == str(newest.relative_to(lake)) and problem.repair == UNLISTED
    assert problem.what == "data file is in no entry of the table's log"


def test_a_deleted_log_is_named_with_its_orphaned_files(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    shutil.rmtree(lake / "runs" / "_delta_log")
    problems = check_lake(lake).problems
    assert problems[0].file == "runs/_delta_log"
    assert (
        problems[0].what
        == "the table's transaction log is missing (3 data file(s) are no longer a table)"
    )
    assert len(problems) == 4 and {p.repair for p in problems[1:]} == {UNLISTED}


def test_a_log_entry_naming_a_file_outside_the_table_is_damage(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    entry = lake / "runs" / "_delta_log" / f"{4:020d}.json"
    entry.write_text(
        '{"add":{"path":"../verifications/x.parquet","partitionValues":{"run_date":null},'
        '"size":10,"modificationTime":0,"dataChange":true}}'
    )
    problem = _only(structural_problems(lake))
    assert problem.what == "the log names a data file outside the table's directory"


def test_an_absent_table_is_not_damage(tmp_path: Path) -> None:
    lake = _lake(tmp_path)
    shutil.rmtree(lake / "subjects")
    health = check_lake(lake)
    assert health.healthy
    assert next(t for t in health.tables if t.name == "subjects").present is False


READ_THROUGH = """
import sys
from pathlib import Path
import pyarrow as pa
from attestlake.lake.lake_check import check_lake
health = check_lake(Path(sys.argv[1]))
blobs = next(t for t in health.tables if t.name == "blobs")
print(blobs.rows, health.healthy, pa.default_memory_pool().max_memory() >> 20)
"""


def test_a_data_file_is_read_through_a_slice_at_a_time(tmp_path: Path) -> None:
    """Every page of a 40 MB data file is decoded (a damaged one would be found), without
    the whole file, or a whole column chunk, in Arrow's memory at once."""
    import os
    import subprocess
    import sys

    import pyarrow as pa
    from deltalake import write_deltalake

    from attestlake.lake.tables import BLOBS

    lake, n = tmp_path / "lake", 20_000
    columns = {f.name: pa.nulls(n, f.type) for f in BLOBS.schema}
    kind = BLOBS.schema.field("content").type
    columns["content"] = pa.array([os.urandom(2048) for _ in range(n)], kind)  # incompressible
    write_deltalake(str(lake / "blobs"), pa.table(columns, schema=BLOBS.schema))
    proc = subprocess.run(
        [sys.executable, "-c", READ_THROUGH, str(lake)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    rows, healthy, peak = proc.stdout.split()
    assert (int(rows), healthy) == (20_000, "True")
    # read whole: 106 MiB; a column chunk at a time: 57 MiB; 8 MB of it at a time: 27 MiB
    assert int(peak) < 40, f"{peak} MiB of Arrow memory at once for a 40 MB file"
