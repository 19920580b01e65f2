"""The lake's data files: each table's view has DuckDB's types for its Arrow schema, each
batch is written sorted by its table's ``sort_by`` columns, and documents and free text
without statistics."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from attestlake.errors import LakeError
from attestlake.lake.file_layout import ordered, table_properties, writer_properties
from attestlake.lake.lake import duckdb_type, empty_relation
from attestlake.lake.tables import ATTESTATIONS, BLOBS, RUNS, SBOM_COMPONENTS, TABLES, Table


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_each_view_has_the_types_duckdb_gives_the_arrow_schema(table: object) -> None:
    with duckdb.connect(":memory:") as con:
        con.register("empty", table.schema.empty_table())  # type: ignore[attr-defined]
        arrow = con.sql("DESCRIBE empty").fetchall()
        typed = con.sql(f"DESCRIBE {empty_relation(table)}").fetchall()  # type: ignore[arg-type]
    assert [(name, kind) for name, kind, *_ in typed] == [(name, kind) for name, kind, *_ in arrow]


def test_a_column_type_duckdb_is_not_told_about_is_refused() -> None:
    with pytest.raises(LakeError, match="no DuckDB type is known for the lake column type"):
        duckdb_type(pa.list_(pa.string()))


def test_a_batch_is_sorted_by_the_tables_columns_nulls_last() -> None:
    rows = pa.table(
        {
            "project": ["b", "a", None, "a"],
            "workflow": ["x", "y", "z", "x"],
            "started_at": [1, 2, 3, 4],
            "run_id": ["1", "2", "3", "4"],
        }
    )
    assert RUNS.sort_by[:2] == ("project", "workflow")
    got = ordered(RUNS, rows)
    assert got.column("run_id").to_pylist() == ["4", "2", "1", "3"]
    assert sorted(got.to_pylist(), key=repr) == sorted(rows.to_pylist(), key=repr)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_the_columns_without_statistics_are_the_tables_and_none_that_prunes(table: Table) -> None:
    """A column written without statistics is one of the table's, and none that rows are
    sorted by (whose statistics let DuckDB skip row groups) or that identify a row."""
    names = set(table.schema.names)
    assert set(table.no_statistics) <= names
    assert not set(table.no_statistics) & {*table.sort_by, *table.key, *table.partition_by}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_the_log_has_statistics_of_the_columns_files_are_selected_by(table: Table) -> None:
    """Each file's entry of the Delta log keeps the minimum and maximum of the columns a
    reader of the log selects files by (the key, the sort order, those named, the crawl's
    columns) and of no other: every opened table holds those entries in memory."""
    names = table.schema.names
    wanted = {*table.key, *table.sort_by, *table.selected_by, "crawl_id", "crawl_batch"}
    assert set(table.selected_by) <= set(names)
    assert list(table.log_statistics) == [n for n in names if n in wanted]
    assert not set(table.log_statistics) & set(table.no_statistics)
    assert table_properties(table) == {
        "delta.dataSkippingStatsColumns": ",".join(table.log_statistics)
    }


def test_the_crawls_own_selections_keep_their_statistics_in_the_log() -> None:
    """The crawl's replays select attestations by statement and trust, and SBOM components
    by where they were read and trust (:mod:`attestlake.crawl.replay`)."""
    assert {"statement_digest", "trusted"} <= set(ATTESTATIONS.log_statistics)
    assert {"carrier", "trusted", "manifest_digest"} <= set(SBOM_COMPONENTS.log_statistics)
    assert "statement" not in ATTESTATIONS.log_statistics


def test_documents_and_free_text_are_written_without_statistics() -> None:
    """``attestations``: a statement's whole text is no file's minimum or maximum; its
    digests keep theirs."""
    properties = writer_properties(ATTESTATIONS)
    columns = properties.column_properties or {}
    assert set(columns) == {"statement", "subjects"}
    assert all(c.statistics_enabled == "NONE" for c in columns.values())
    assert writer_properties(RUNS).column_properties is None
    kept = writer_properties(BLOBS).column_properties or {}
    assert set(kept) == {"content"} and kept["content"].dictionary_enabled is False
