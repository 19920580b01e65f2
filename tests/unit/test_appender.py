"""An Appender keeps a table open between its commits, and opens it again from the log every
``REOPEN_AFTER`` commits: a table held open grows with every commit it makes. It merges a
table's small files once there are ``MERGE_AFTER`` of them: a crawl's tables do not grow a
file per batch."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from deltalake.table import TableOptimizer

from attestlake.errors import LakeError
from attestlake.lake import write
from attestlake.lake.file_layout import NARROW_ROW_GROUP, ROW_GROUP
from attestlake.lake.lake import Lake
from attestlake.lake.tables import BY_NAME
from attestlake.lake.write import Appender, compact, create_tables

RUNS = BY_NAME["runs"]


def _run(run_id: str) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(RUNS.schema.names)
    row.update(run_id=run_id, manifest_digest=f"sha256:{run_id}", project="p", workflow="w")
    return row


def _history(lake: Path) -> list[str]:
    return [c["operation"] for c in reversed(DeltaTable(str(lake / "runs")).history())]


def _read(lake: Path) -> list[str]:
    with Lake.open(lake) as reading:
        return reading.sql("SELECT run_id FROM runs ORDER BY run_id").column(0).to_pylist()


def test_a_table_is_opened_again_every_reopen_after_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write, "REOPEN_AFTER", 3)
    opened: list[int] = []  # the version each open found

    def counting_open(root: Path, table: object) -> DeltaTable:
        delta = DeltaTable(str(root / "runs"))
        opened.append(delta.version())
        return delta

    monkeypatch.setattr(write, "open_table", counting_open)
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    ids = [f"run-{i:02d}" for i in range(8)]
    for run_id in ids:
        assert appender.append(RUNS, [_run(run_id)]) == 1
    # opened at the first commit, after the third and after the sixth: each open sees the
    # commits made through the handle before it
    assert opened == [0, 3, 6]
    assert DeltaTable(str(lake / "runs")).version() == 8  # one commit per append, none lost
    assert _read(lake) == ids


def test_a_failed_write_opens_the_table_again_and_the_count_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write, "REOPEN_AFTER", 3)
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    appender.append(RUNS, [_run("a")])
    appender.append(RUNS, [_run("b")])

    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(write, "write_deltalake", failing)
        with pytest.raises(LakeError):
            appender.append(RUNS, [_run("c")])
    for run_id in ("c", "d", "e"):
        appender.append(RUNS, [_run(run_id)])
    assert _read(lake) == ["a", "b", "c", "d", "e"]
    assert DeltaTable(str(lake / "runs")).version() == 5


def test_a_closed_appender_opens_its_table_again_to_append(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    appender.append(RUNS, [_run("a")])
    appender.close()
    appender.append(RUNS, [_run("b")])
    assert _read(lake) == ["a", "b"]


def test_small_files_are_merged_once_a_table_holds_merge_after_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write, "MERGE_AFTER", 3)
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    ids = [f"run-{i:02d}" for i in range(8)]
    for run_id in ids:
        appender.append(RUNS, [_run(run_id)])
    # merged after appends 3, 5 and 7 (the merged file is small too, and counts)
    assert _history(lake) == [
        "CREATE TABLE",
        *["WRITE"] * 3,
        "OPTIMIZE",
        *["WRITE", "WRITE", "OPTIMIZE"] * 2,
        "WRITE",
    ]
    assert len(DeltaTable(str(lake / "runs")).file_uris()) == 2
    assert _read(lake) == ids
    # a merge deletes no file: a reader of an earlier version still finds its rows
    before = DeltaTable(str(lake / "runs"), version=3).to_pyarrow_table()
    assert sorted(before.column("run_id").to_pylist()) == ids[:3]


def test_files_of_merge_target_or_more_are_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write, "MERGE_AFTER", 3)
    monkeypatch.setattr(write, "MERGE_TARGET", 1)  # every file is large
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    for i in range(5):
        appender.append(RUNS, [_run(f"run-{i}")])
    assert "OPTIMIZE" not in _history(lake)
    assert len(DeltaTable(str(lake / "runs")).file_uris()) == 5


def test_a_merge_that_fails_keeps_the_rows_leaves_no_file_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(write, "MERGE_AFTER", 2)
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    tried: list[int] = []

    def failing(self: object, *args: object, **kwargs: object) -> None:
        tried.append(len(list((lake / "runs").glob("*.parquet"))))
        (lake / "runs" / "part-00001-half-written-c000.zstd.parquet").write_bytes(b"PAR1")
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(TableOptimizer, "compact", failing)
        for run_id in ("a", "b", "c"):
            assert appender.append(RUNS, [_run(run_id)]) == 1
    assert tried == [2]  # tried once, not again at the next append
    assert "cannot merge the files of table runs" in caplog.text
    assert "its rows are written" in caplog.text
    assert not (lake / "runs" / "part-00001-half-written-c000.zstd.parquet").exists()
    assert _read(lake) == ["a", "b", "c"]
    assert "OPTIMIZE" not in _history(lake)
    for run_id in ("d", "e"):  # the next merge is due two small files later, and works
        appender.append(RUNS, [_run(run_id)])
    assert _history(lake)[-1] == "OPTIMIZE"
    assert len(DeltaTable(str(lake / "runs")).file_uris()) == 1
    assert _read(lake) == ["a", "b", "c", "d", "e"]


def test_a_crawl_sized_table_is_written_in_row_groups_of_row_group_rows(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    create_tables(lake)
    Appender(lake).append(RUNS, [_run(f"run-{i:05d}") for i in range(ROW_GROUP + 10)])
    (data,) = (lake / "runs").glob("*.parquet")
    footer = pq.ParquetFile(data).metadata
    assert [footer.row_group(i).num_rows for i in range(footer.num_row_groups)] == [ROW_GROUP, 10]


def test_sbom_components_are_written_in_larger_row_groups(tmp_path: Path) -> None:
    """Its narrow rows compress better in row groups of ``NARROW_ROW_GROUP`` rows, in the
    files a crawl writes and in those ``lake compact`` writes."""
    components = BY_NAME["sbom_components"]
    assert components.row_group == NARROW_ROW_GROUP > ROW_GROUP
    lake = tmp_path / "lake"
    create_tables(lake)

    def row(i: int) -> dict[str, object]:
        values: dict[str, object] = dict.fromkeys(components.schema.names)
        values.update(manifest_digest=f"sha256:{i // 40}", name=f"c{i}", version="1.0")
        return values

    appender = Appender(lake)
    appender.append(components, [row(i) for i in range(NARROW_ROW_GROUP + 10)])
    appender.append(components, [row(i) for i in range(NARROW_ROW_GROUP + 10, 70_000)])

    def row_groups() -> list[list[int]]:
        files = DeltaTable(str(lake / "sbom_components")).file_uris()
        footers = [pq.ParquetFile(f).metadata for f in files]
        return sorted([m.row_group(i).num_rows for i in range(m.num_row_groups)] for m in footers)

    assert row_groups() == sorted([[NARROW_ROW_GROUP, 10], [70_000 - NARROW_ROW_GROUP - 10]])
    compact(lake)
    assert row_groups() == [[NARROW_ROW_GROUP, 70_000 - NARROW_ROW_GROUP]]


def test_a_table_with_large_values_is_not_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write, "MERGE_AFTER", 2)
    blobs = BY_NAME["blobs"]
    assert blobs.large_values
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    for i in range(4):
        row: dict[str, object] = dict.fromkeys(blobs.schema.names)
        row.update(manifest_digest=f"sha256:{i}", role="document", content=b"{}")
        appender.append(blobs, [row])
    history = [c["operation"] for c in DeltaTable(str(lake / "blobs")).history()]
    assert "OPTIMIZE" not in history
    assert len(DeltaTable(str(lake / "blobs")).file_uris()) == 4
