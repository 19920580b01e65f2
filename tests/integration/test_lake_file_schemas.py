"""A table's data files read by column name: those written before a column was added give
NULL there, beside files written since, and files that share one schema read the same."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from attestlake.lake.lake import Lake
from attestlake.lake.tables import BY_NAME
from attestlake.lake.write import Appender, create_tables

RUNS = BY_NAME["runs"]


def _run(run_id: str) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(RUNS.schema.names)
    row.update(run_id=run_id, manifest_digest=f"sha256:{run_id}", project="p", workflow="w")
    row.update(signer="ci@example.com")
    return row


def _rows(lake: Path) -> list[tuple[object, ...]]:
    with Lake.open(lake) as opened:
        table = opened.sql("SELECT run_id, workflow, signer FROM runs ORDER BY run_id")
    return [tuple(r.values()) for r in table.to_pylist()]


def test_files_of_one_schema_and_of_two_read_the_same_rows(tmp_path: Path) -> None:
    same = tmp_path / "same"
    create_tables(same)
    for run_id in ("a", "b", "c"):  # one file each, all of the table's schema
        Appender(same).append(RUNS, [_run(run_id)])
    assert _rows(same) == [(r, "w", "ci@example.com") for r in ("a", "b", "c")]

    older = tmp_path / "older"
    create_tables(older)
    # the first file was written before the signer column existed
    first = pa.Table.from_pylist([_run("a")], schema=RUNS.schema).drop_columns(["signer"])
    write_deltalake(str(older / "runs"), first, mode="overwrite", schema_mode="overwrite")
    for run_id in ("b", "c"):
        rows = pa.Table.from_pylist([_run(run_id)], schema=RUNS.schema)
        write_deltalake(str(older / "runs"), rows, mode="append", schema_mode="merge")
    assert len(list((older / "runs").glob("*.parquet"))) == 3
    assert _rows(older) == [
        ("a", "w", None),
        ("b", "w", "ci@example.com"),
        ("c", "w", "ci@example.com"),
    ]
