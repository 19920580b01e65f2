"""What a crawl reads of a lake before it writes (:func:`survey_lake`): the units in the lake
and how its tables disagree, reduced in Arrow without a Python object per row or unit."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import write_deltalake

from attestlake.lake import consistency
from attestlake.lake.consistency import survey_lake
from attestlake.lake.tables import RUNS, SUBJECTS, VERIFICATIONS, Table
from attestlake.lake.write import create_tables


def _digest(i: int) -> str:
    return "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()


def _append(root: Path, table: Table, units: list[str], files: int = 1) -> None:
    """Rows naming ``units`` (every other column NULL, as a lake written before the journal
    has no crawl columns filled), in ``files`` data files."""
    step = max(1, -(-len(units) // files))
    for start in range(0, len(units), step):
        part = units[start : start + step]
        columns = {
            f.name: pa.array(part, f.type)
            if f.name == "manifest_digest"
            else pa.nulls(len(part), f.type)
            for f in table.schema
        }
        write_deltalake(
            str(root / table.name), pa.table(columns, schema=table.schema), mode="append"
        )


def test_a_large_lake_is_surveyed_without_a_python_object_per_unit(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    create_tables(root)
    units = [_digest(i) for i in range(100_000)]
    _append(root, VERIFICATIONS, units, files=3)
    _append(root, RUNS, units, files=2)
    _append(root, SUBJECTS, units * 2, files=4)  # two subjects a run
    del units
    tracemalloc.start()
    try:
        survey = survey_lake(root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert survey.problems == []
    # A Python object per unit and table took 90 MiB here. What is left is reading: delta-rs
    # hands a data file's column chunk to Parquet as Python bytes (3.2 MB of digests here).
    assert peak < 24 * 2**20, f"{peak / 2**20:.1f} MiB of Python objects"
    in_lake = set(survey.units(VERIFICATIONS))
    assert len(in_lake) == 100_000 and _digest(0) in in_lake and _digest(99_999) in in_lake
    assert survey.tables[SUBJECTS].batches == {(None, None): 200_000}


def test_units_no_completion_table_records_are_counted_once_and_named(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    create_tables(root)
    recorded = [_digest(i) for i in range(10)]
    _append(root, VERIFICATIONS, recorded)
    a, b, c = sorted(_digest(i) for i in range(100, 103))
    _append(root, RUNS, [*recorded, b, a, a])
    _append(root, SUBJECTS, [*recorded[:3], c, b], files=2)
    problems = survey_lake(root).problems
    assert problems == [
        f"tables runs, subjects hold rows of 3 crawl unit(s) (manifest_digest {a}) that neither "
        "verifications nor published_documents records: those tables lost rows"
    ]
    assert list(survey_lake(root).units(RUNS)) == []  # only completion tables' units are kept


def test_column_slices_read_every_file_a_slice_at_a_time_in_one_type(tmp_path: Path) -> None:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from attestlake.lake.scan import column_slices

    old = pa.table({"manifest_digest": pa.array(["a", "b", "c"], pa.large_string())})
    new = pa.table(
        {
            "crawl_id": pa.array(["x", None], pa.string_view()),
            "manifest_digest": pa.array(["d", "e"], pa.string_view()),
            "other": pa.array([1, 2]),
        }
    )
    pq.write_table(old, tmp_path / "old.parquet")
    pq.write_table(new, tmp_path / "new.parquet")
    dataset = ds.dataset([str(tmp_path / "old.parquet"), str(tmp_path / "new.parquet")])
    wanted = {"crawl_id": pa.string(), "manifest_digest": pa.string(), "crawl_batch": pa.int64()}
    slices = list(column_slices(dataset, wanted, rows=2))
    assert [s.num_rows for s in slices] == [2, 1, 2]
    assert all(s.schema == pa.schema(wanted) for s in slices)
    rows = [r for s in slices for r in s.to_pylist()]
    assert rows == [
        {"crawl_id": None, "manifest_digest": "a", "crawl_batch": None},
        {"crawl_id": None, "manifest_digest": "b", "crawl_batch": None},
        {"crawl_id": None, "manifest_digest": "c", "crawl_batch": None},
        {"crawl_id": "x", "manifest_digest": "d", "crawl_batch": None},
        {"crawl_id": None, "manifest_digest": "e", "crawl_batch": None},
    ]


def test_a_table_of_many_files_has_each_unit_hashed_a_few_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The units found file after file are made distinct again once they have doubled, not
    after every file once past a slice: that was quadratic (a million runs' lake, a file a
    batch: 64 s for ``runs``, 83 s for ``sbom_components``)."""
    root = tmp_path / "lake"
    create_tables(root)
    units = [_digest(i) for i in range(2_400)]
    _append(root, VERIFICATIONS, units, files=2)
    _append(root, RUNS, units + units[:300], files=80)  # 80 files, some units twice
    monkeypatch.setattr(consistency, "SLICE_ROWS", 64)  # far past a slice, as at a million
    hashed: list[int] = []
    unique = pc.unique

    def counted(values: pa.Array) -> pa.Array:
        hashed.append(len(values))
        return unique(values)

    monkeypatch.setattr(pc, "unique", counted)
    survey = survey_lake(root)
    assert survey.problems == []
    assert sorted(survey.units(VERIFICATIONS)) == sorted(units)
    assert survey.tables[RUNS].batches == {(None, None): 2_700}
    # Each slice's own units, then each doubling: a few times the tables' rows (5,100) at
    # most; 16,862 here. Made distinct after every file once past a slice: 123,222.
    assert sum(hashed) < 30_000, sum(hashed)
