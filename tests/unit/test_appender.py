"""An Appender keeps a table open between its commits, and opens it again from the log every
``REOPEN_AFTER`` commits: a table held open grows with every commit it makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from attestlake.errors import LakeError
from attestlake.lake import write
from attestlake.lake.lake import Lake
from attestlake.lake.tables import BY_NAME
from attestlake.lake.write import Appender, create_tables

RUNS = BY_NAME["runs"]


def _run(run_id: str) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(RUNS.schema.names)
    row.update(run_id=run_id, manifest_digest=f"sha256:{run_id}", project="p", workflow="w")
    return row


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
    with Lake.open(lake) as reading:
        rows = reading.sql("SELECT run_id FROM runs ORDER BY run_id").column(0).to_pylist()
    assert rows == ids


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
    with Lake.open(lake) as reading:
        rows = reading.sql("SELECT run_id FROM runs ORDER BY run_id").column(0).to_pylist()
    assert rows == ["a", "b", "c", "d", "e"]
    assert DeltaTable(str(lake / "runs")).version() == 5


def test_a_closed_appender_opens_its_table_again_to_append(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    create_tables(lake)
    appender = Appender(lake)
    appender.append(RUNS, [_run("a")])
    appender.close()
    appender.append(RUNS, [_run("b")])
    with Lake.open(lake) as reading:
        rows = reading.sql("SELECT run_id FROM runs ORDER BY run_id").column(0).to_pylist()
    assert rows == ["a", "b"]
