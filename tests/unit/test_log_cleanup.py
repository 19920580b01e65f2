"""Expired log entries deleted when a commit writes a checkpoint, not listed for after every
commit (:mod:`attestlake.lake.log_cleanup`)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from attestlake.lake.log_cleanup import COMMIT_HOOKS, after_commit

_ROW = pa.table({"n": [1]})


def _log(table: Path) -> list[str]:
    return sorted(p.name for p in (table / "_delta_log").iterdir() if p.name[0].isdigit())


def _table(path: Path, **configuration: str) -> DeltaTable:
    settings = {"delta.checkpointInterval": "3", "delta.logRetentionDuration": "interval 0 seconds"}
    write_deltalake(path, _ROW, configuration={**settings, **configuration})
    return DeltaTable(path)


def _commit(table: DeltaTable) -> None:
    write_deltalake(table, _ROW, mode="append", post_commithook_properties=COMMIT_HOOKS)
    after_commit(table)


def test_expired_entries_are_deleted_when_a_commit_writes_a_checkpoint(tmp_path: Path) -> None:
    table = _table(tmp_path / "t")
    _commit(table)  # version 1: no checkpoint, nothing deleted
    assert _log(tmp_path / "t") == [f"{v:020d}.json" for v in (0, 1)]
    _commit(table)  # version 2 writes a checkpoint: the entries before it are expired
    assert _log(tmp_path / "t") == [f"{2:020d}.checkpoint.parquet", f"{2:020d}.json"]
    _commit(table)
    assert _log(tmp_path / "t")[-1] == f"{3:020d}.json"
    assert DeltaTable(tmp_path / "t").to_pyarrow_table().num_rows == 4


def test_a_table_that_keeps_its_log_keeps_it(tmp_path: Path) -> None:
    table = _table(tmp_path / "t", **{"delta.enableExpiredLogCleanup": "false"})
    for _ in range(3):
        _commit(table)
    assert [f"{v:020d}.json" for v in range(4)] == [n for n in _log(tmp_path / "t") if "json" in n]
