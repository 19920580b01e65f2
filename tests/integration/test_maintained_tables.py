"""The maintained tables: written by every crawl, read only while current, never a wrong answer.

The saved queries that read them give the answers their definitions give over the lake's
tables, whatever state the written tables are in: current, stale (a crawl stopped before its
end), missing (a lake written before they existed), compacted, or tampered with.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from deltalake import CommitProperties, DeltaTable, write_deltalake
from sqlglot import exp

from attestlake import open_lake
from attestlake.audit.queries import run_query
from attestlake.audit.query_files import load_queries
from attestlake.crawl.crawl import crawl
from attestlake.crawl.shard import ShardedSource, parse_shard
from attestlake.crawl.sources import as_source
from attestlake.demo.demo import DemoResult
from attestlake.lake import maintain
from attestlake.lake.lake import Lake
from attestlake.lake.maintain import PARTS, computed, refresh
from attestlake.lake.maintained_views import (
    BUILT_FROM,
    MAINTAINED,
    Maintained,
    computed_in_parts,
    current_tables,
)
from attestlake.lake.tables import BY_NAME
from attestlake.lake.write import writer_lock
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests.demo_lake import NOW, copy_demo
from tests.integration.cli_helpers import run_cli
from tests.integration.test_crawl_store import maintained_rows

#: The saved queries that read maintained tables, with parameters that widen them.
QUERIES: dict[str, list[dict[str, str]]] = {
    "builds_outside_ci": [{}, {"since": "2026-11-19"}],
    "contract_drift": [{}],
    "failing_runs": [{}, {"since": "2026-01-01", "expire_after": "1 hours", "min_ratio": "0"}],
    "impersonation": [{}],
    "missing_sbom_digests": [{}],
    "never_integrated": [{}],
    "new_dependencies": [{}, {"since": "2026-11-01"}, {"since": "2026-11-19"}],
    "non_compliant_workflows": [{}, {"runs": "all"}],
    "runner_changes": [{}],
    "sbom_quality": [{}],
    "shared_artifact_digests": [{}],
    "signer_changes": [{}],
    "slsa_build_levels": [{}, {"target_level": "4"}],
    "stale_workflows": [{}, {"grace_hours": "0"}, {"checked_at": "2026-11-18T00:00:00Z"}],
}
Answers = dict[str, list[str]]


def answers(lake: Path) -> Answers:
    """Every answer of the queries above (each a sorted list of rows as JSON)."""
    saved = {q.name: q for q in load_queries()}
    out: Answers = {}
    with open_lake(lake) as opened:
        for name, variants in QUERIES.items():
            for params in variants:
                result = run_query(opened, saved[name], params, now=NOW)
                rows = [
                    json.dumps(r, default=str, sort_keys=True) for r in result.table.to_pylist()
                ]
                out[f"{name} {params}"] = sorted(rows)
    return out


def _without_maintained(lake: Path, target: Path) -> Path:
    """A copy of ``lake`` without its maintained tables: every session computes them."""
    shutil.copytree(lake, target)
    for maintained in MAINTAINED:
        shutil.rmtree(target / maintained.name, ignore_errors=True)
    return target


def _computed_recorded(
    monkeypatch: pytest.MonkeyPatch, too_large: Callable[[Maintained, int], bool] | None = None
) -> tuple[list[tuple[str, int]], list[str]]:
    """Record each definition the refresh computes, in how many parts and within which memory
    limit; DuckDB running out of memory is simulated where ``too_large`` says."""
    real = maintain.computed
    tried: list[tuple[str, int]] = []
    bounds: list[str] = []

    def recorded(
        con: duckdb.DuckDBPyConnection, maintained: Maintained, parts: int = 1
    ) -> pa.Table:
        tried.append((maintained.name, parts))
        bounds.append(con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0])
        if too_large is not None and too_large(maintained, parts):
            raise duckdb.OutOfMemoryException("Out of Memory Error: (simulated)")
        return real(con, maintained, parts)

    monkeypatch.setattr(maintain, "computed", recorded)
    return tried, bounds


def _sorted_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return sorted((tuple(r.values()) for r in table.to_pylist()), key=repr)


def _session_rows(lake: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Each maintained table as a session over ``lake`` reads it (sorted; crawl ids left out)."""
    out = {}
    with open_lake(lake) as opened:
        for maintained in MAINTAINED:
            rows = opened.sql(f'SELECT * FROM "{maintained.name}"')
            rows = rows.drop_columns(
                [c for c in ("crawl_id", "crawl_batch") if c in rows.column_names]
            )
            out[maintained.name] = _sorted_rows(rows)
    return out


def _crawl_shard(store: Path, lake: Path, trust: Path, shard: str, **kwargs: Any) -> None:
    source = ShardedSource(as_source(LayoutStore(store)), parse_shard(shard))
    crawl(source, lake, load_policy(trust), now=NOW, jobs=1, **kwargs)


def _stop_after_runs() -> Callable[[int, str, int], None]:
    """An ``on_written`` that stops the crawl with an error once the first batch that wrote
    runs is journalled."""
    wrote: set[int] = set()

    def on_written(done: int, table: str, rows: int) -> None:
        if table == "runs":
            wrote.add(done)
        if done in wrote and table == "crawls":
            raise RuntimeError("stopped")

    return on_written


def test_a_crawl_writes_every_maintained_table_as_its_definition_computes_it(
    demo: DemoResult, tmp_path: Path
) -> None:
    written = maintained_rows(demo.lake)  # current, or this fails
    assert written["latest_runs"] and written["workflow_packages"]
    computed = _without_maintained(demo.lake, tmp_path / "lake")
    assert current_tables(computed.resolve()) == {}
    assert _session_rows(computed) == written
    assert answers(computed) == answers(demo.lake)


def test_a_stopped_crawl_leaves_them_stale_and_the_answers_right(
    demo: DemoResult, tmp_path: Path
) -> None:
    org = copy_demo(demo, tmp_path / "org")
    lake, trust = tmp_path / "lake", org / "trust.yaml"
    _crawl_shard(org / "store", lake, trust, "1/2")
    first = maintained_rows(lake)
    with pytest.raises(RuntimeError, match="stopped"):
        # small batches: the crawl stops after its first one that wrote runs, far from its end
        _crawl_shard(org / "store", lake, trust, "2/2", batch_size=3, on_written=_stop_after_runs())
    assert current_tables(lake.resolve()) == {}  # every one reads runs, which changed
    computed = _session_rows(lake)  # the session computes them: the new runs are in
    assert computed["workflow_packages"] != first["workflow_packages"]
    assert answers(lake) == answers(_without_maintained(lake, tmp_path / "computed"))
    _crawl_shard(org / "store", lake, trust, "2/2")  # the crawl resumes and completes
    whole = tmp_path / "whole"
    crawl(as_source(LayoutStore(org / "store")), whole, load_policy(trust), now=NOW, jobs=1)
    assert maintained_rows(lake) == maintained_rows(whole)
    assert answers(lake) == answers(whole)


def test_a_lake_written_before_them_answers_the_same_and_the_next_crawl_writes_them(
    demo: DemoResult, tmp_path: Path
) -> None:
    org = copy_demo(demo, tmp_path / "org")
    for maintained in MAINTAINED:
        shutil.rmtree(org / "lake" / maintained.name)
    assert answers(org / "lake") == answers(demo.lake)
    done = run_cli(
        tmp_path,
        "crawl",
        "--from",
        str(org / "store"),
        "--lake",
        str(org / "lake"),
        "--trust",
        str(org / "trust.yaml"),
    )
    assert done.code == 0, done.err
    lake = org / "lake"
    assert maintained_rows(lake) == _session_rows(_without_maintained(lake, tmp_path / "c"))


def test_a_refresh_past_its_memory_bound_writes_them_unbounded_and_says_so(
    demo: DemoResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A definition that cannot fit in the refresh's memory bound is computed without it: the
    tables are written, current, with the rows of a refresh within the bound, and a warning
    names each one."""
    lake = _without_maintained(demo.lake, tmp_path / "lake")
    with writer_lock(lake.resolve()), caplog.at_level(logging.WARNING):
        written = refresh(lake.resolve(), memory_limit="16MB", wider_limit=None)
    assert written == [m.name for m in MAINTAINED]
    assert set(current_tables(lake.resolve())) == set(written)
    unfit = {r.getMessage().split()[2] for r in caplog.records if "does not fit" in r.message}
    assert unfit and unfit <= set(written)
    assert all(
        "without a bound" in r.message for r in caplog.records if "does not fit" in r.message
    )
    assert maintained_rows(lake) == maintained_rows(demo.lake)


def test_a_refresh_past_its_memory_bound_tries_a_wider_one_before_none(
    demo: DemoResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A definition that cannot fit in the refresh's bound is computed again within the wider
    bound (and without one only past that): every table written, current and right, and the
    warnings say within which bound."""
    lake = _without_maintained(demo.lake, tmp_path / "lake")
    with writer_lock(lake.resolve()), caplog.at_level(logging.WARNING):
        written = refresh(lake.resolve(), memory_limit="16MB", wider_limit="512MB")
    assert set(current_tables(lake.resolve())) == set(written) == {m.name for m in MAINTAINED}
    said = [r.message for r in caplog.records if "does not fit" in r.message]
    assert said and all(m.endswith("computed again within 512MB") for m in said)
    assert maintained_rows(lake) == maintained_rows(demo.lake)


def test_a_definition_computed_in_parts_has_the_rows_it_has_at_once(demo: DemoResult) -> None:
    """The parts together are the table, each part's rows are its own, and the session's view
    of the table it is computed in parts of is whole again once they are done."""
    in_parts = [m for m in MAINTAINED if m.parts_of]
    assert [m.name for m in in_parts] == ["workflow_packages"]
    with Lake.open(demo.lake.resolve(), derived=False) as lake:
        for maintained in in_parts:
            table = maintained.parts_of[0] if maintained.parts_of else ""
            rows = lake.con.sql(f'SELECT count(*) FROM "{table}"').fetchall()
            whole = computed(lake.con, maintained)
            assert whole.num_rows > 10
            for parts in (2, 3, PARTS, 64):
                in_parts_rows = computed(lake.con, maintained, parts)
                assert in_parts_rows.num_rows == whole.num_rows
                assert _sorted_rows(in_parts_rows) == _sorted_rows(whole)
                assert lake.con.sql(f'SELECT count(*) FROM "{table}"').fetchall() == rows
                assert computed(lake.con, maintained).num_rows == whole.num_rows
        with pytest.raises(ValueError, match="cannot be computed in parts"):
            computed(lake.con, next(m for m in MAINTAINED if not m.parts_of), PARTS)


def test_a_part_that_fails_leaves_the_session_whole(demo: DemoResult) -> None:
    """A part that runs out of memory (the third, here) fails the computation, and every
    query after it in the session reads the whole table again: no later definition is
    computed from a share of the runs."""

    class ThirdPartFails:
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self.con, self.parts = con, 0

        def sql(self, query: str) -> duckdb.DuckDBPyRelation:
            self.parts += 1
            if self.parts == 3:
                raise duckdb.OutOfMemoryException("Out of Memory Error: (simulated)")
            return self.con.sql(query)

        def execute(self, query: str, *args: Any) -> duckdb.DuckDBPyConnection:
            return self.con.execute(query, *args)

    maintained = next(m for m in MAINTAINED if m.parts_of)
    with Lake.open(demo.lake.resolve(), derived=False) as lake:
        runs = lake.con.sql('SELECT count(*) FROM "runs"').fetchall()
        whole = computed(lake.con, maintained)
        failing = ThirdPartFails(lake.con)
        with pytest.raises(duckdb.OutOfMemoryException):
            computed(failing, maintained, PARTS)  # type: ignore[arg-type]
        assert failing.parts == 3
        assert lake.con.sql('SELECT count(*) FROM "runs"').fetchall() == runs
        names = {r[0] for r in lake.con.sql("SELECT view_name FROM duckdb_views()").fetchall()}
        assert "runs" in names and "_runs_whole" not in names
        assert _sorted_rows(computed(lake.con, maintained)) == _sorted_rows(whole)


def test_a_refresh_computes_in_parts_what_does_not_fit_at_once_within_its_bound(
    demo: DemoResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A definition that can be computed in parts and does not fit in the refresh's bound at
    once is computed in parts within that bound, not again within the wider one. DuckDB
    running out of memory at once is simulated (the demo's tables fit in any bound above its
    own start-up, so no real bound separates the two ways)."""
    lake = _without_maintained(demo.lake, tmp_path / "lake")
    tried, _ = _computed_recorded(monkeypatch, lambda m, parts: bool(m.parts_of) and parts == 1)
    with writer_lock(lake.resolve()), caplog.at_level(logging.INFO, logger=maintain.__name__):
        written = refresh(lake.resolve(), memory_limit="256MB", wider_limit="1GB")
    assert set(current_tables(lake.resolve())) == set(written) == {m.name for m in MAINTAINED}
    assert ("workflow_packages", 1) in tried and ("workflow_packages", PARTS) in tried
    assert all(parts == 1 for name, parts in tried if name != "workflow_packages")
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"maintained table workflow_packages does not fit in 256MB of memory at once: "
        f"computed in {PARTS} parts"
    ]
    assert maintained_rows(lake) == maintained_rows(demo.lake)
    # The next refresh computes it in parts at once: the first try within the bound would fail.
    tried.clear()
    caplog.clear()
    _append_changed(lake, "runs", run_id="run-appended")
    assert "workflow_packages" not in current_tables(lake.resolve())
    with writer_lock(lake.resolve()), caplog.at_level(logging.INFO, logger=maintain.__name__):
        written = refresh(lake.resolve(), memory_limit="256MB", wider_limit="1GB")
    assert "workflow_packages" in written
    assert [parts for name, parts in tried if name == "workflow_packages"] == [PARTS]
    assert [r.getMessage() for r in caplog.records] == [
        "maintained table workflow_packages did not fit in memory at once the last time: "
        f"computed in {PARTS} parts"
    ]
    assert set(current_tables(lake.resolve())) == {m.name for m in MAINTAINED}


def test_a_definition_that_does_not_fit_in_parts_is_tried_in_more_parts_within_the_bound(
    demo: DemoResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Out of memory at once and in PARTS parts (simulated): computed in twice as many parts
    within the same bound, never within the wider one, with the same rows."""
    lake = _without_maintained(demo.lake, tmp_path / "lake")
    tried, bounds = _computed_recorded(
        monkeypatch, lambda m, parts: bool(m.parts_of) and parts < 2 * PARTS
    )
    with writer_lock(lake.resolve()), caplog.at_level(logging.INFO, logger=maintain.__name__):
        written = refresh(lake.resolve(), memory_limit="256MB", wider_limit="1GB")
    assert set(current_tables(lake.resolve())) == set(written) == {m.name for m in MAINTAINED}
    assert [p for name, p in tried if name == "workflow_packages"] == [1, PARTS, 2 * PARTS]
    assert len(set(bounds)) == 1  # one session, one bound: never the wider one
    assert [r.getMessage() for r in caplog.records] == [
        "maintained table workflow_packages does not fit in 256MB of memory at once, "
        f"nor in {PARTS} parts: computed in {2 * PARTS} parts"
    ]
    assert maintained_rows(lake) == maintained_rows(demo.lake)


@pytest.mark.parametrize("over", [True, False])
def test_a_refresh_starts_in_parts_when_the_table_it_reads_is_past_its_size(
    demo: DemoResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    over: bool,
) -> None:
    """Past ``parts_past`` rows of the table named there (counted from the log), a definition
    is computed in parts without a first try at once; at that size or below, at once."""
    lake = _without_maintained(demo.lake, tmp_path / "lake")
    components = DeltaTable(str(lake / "sbom_components")).to_pyarrow_table().num_rows
    assert components > 100
    past = components - 1 if over else components
    monkeypatch.setattr(
        maintain,
        "MAINTAINED",
        tuple(
            dataclasses.replace(m, parts_past=("sbom_components", past)) if m.parts_past else m
            for m in MAINTAINED
        ),
    )
    tried, _ = _computed_recorded(monkeypatch)
    with writer_lock(lake.resolve()), caplog.at_level(logging.INFO, logger=maintain.__name__):
        written = refresh(lake.resolve(), memory_limit="256MB", wider_limit="1GB")
    assert set(current_tables(lake.resolve())) == set(written) == {m.name for m in MAINTAINED}
    assert [parts for name, parts in tried if name == "workflow_packages"] == (
        [PARTS] if over else [1]
    )
    assert [r.getMessage() for r in caplog.records] == (
        [
            f"maintained table workflow_packages reads {components:,} rows of sbom_components "
            f"(over {past:,}): computed in {PARTS} parts"
        ]
        if over
        else []
    )
    assert maintained_rows(lake) == maintained_rows(demo.lake)


def test_only_a_record_of_the_current_definition_says_it_was_computed_in_parts(
    demo: DemoResult, tmp_path: Path
) -> None:
    """The newest commit that wrote the rows must record ``in_parts`` as true, under the
    current definition's digest: the demo's crawl computed every table at once, and a record
    of another definition, or one that says so otherwise, is not taken."""
    org = copy_demo(demo, tmp_path / "org")
    lake = org / "lake"
    assert computed_in_parts(lake.resolve(), MAINTAINED) == set()
    table = lake / "workflow_packages"
    rows = DeltaTable(str(table)).to_pyarrow_table()
    recorded = json.loads(DeltaTable(str(table)).history(1)[0][BUILT_FROM])
    assert "in_parts" not in recorded
    for record, taken in [
        ({**recorded, "in_parts": True}, True),
        ({**recorded, "in_parts": "true"}, False),
        ({**recorded, "in_parts": True, "definition": "sha256:" + "0" * 64}, False),
        (recorded, False),
    ]:
        write_deltalake(
            str(table),
            rows,
            mode="overwrite",
            commit_properties=CommitProperties(custom_metadata={BUILT_FROM: json.dumps(record)}),
        )
        assert computed_in_parts(lake.resolve(), MAINTAINED) == (
            {"workflow_packages"} if taken else set()
        )


def test_a_refresh_with_nowhere_to_spill_writes_them_unbounded_and_says_so(
    demo: DemoResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No temporary directory to spill to (``$TMPDIR`` gone): the tables are still written,
    current and right, computed without the bound, and a warning says why."""
    lake = _without_maintained(demo.lake, tmp_path / "lake")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    with writer_lock(lake.resolve()), caplog.at_level(logging.WARNING):
        written = refresh(lake.resolve())
    assert set(current_tables(lake.resolve())) == set(written) == {m.name for m in MAINTAINED}
    assert any("no temporary directory to spill to" in r.message for r in caplog.records)
    assert maintained_rows(lake) == maintained_rows(demo.lake)


def test_compaction_keeps_them_current(demo: DemoResult, tmp_path: Path) -> None:
    org = copy_demo(demo, tmp_path / "org")
    lake = org / "lake"
    before = maintained_rows(lake)
    done = run_cli(tmp_path, "lake", "compact", "--lake", str(lake))
    assert done.code == 0, done.err
    assert maintained_rows(lake) == before  # still current: compaction changed no row
    assert answers(lake) == answers(demo.lake)


def test_a_checkpoint_after_compaction_keeps_them_current_and_a_change_stale(
    demo: DemoResult, tmp_path: Path
) -> None:
    # the commits since a maintained table was written are then behind a checkpoint, where
    # the log entries a session reads start
    org = copy_demo(demo, tmp_path / "org")
    lake = org / "lake"
    before = maintained_rows(lake)
    done = run_cli(tmp_path, "lake", "compact", "--lake", str(lake))
    assert done.code == 0, done.err
    read = {n for m in MAINTAINED for n in m.reads if (lake / n).is_dir()}
    for name in read:
        DeltaTable(str(lake / name)).create_checkpoint()
    assert maintained_rows(lake) == before
    runs = DeltaTable(str(lake / "runs"))
    write_deltalake(str(lake / "runs"), runs.to_pyarrow_table().slice(0, 1), mode="append")
    DeltaTable(str(lake / "runs")).create_checkpoint()
    # every one that reads runs, which changed, is stale; run_outcomes reads run_events only
    stale = {m.name for m in MAINTAINED if "runs" in m.reads}
    assert set(current_tables(lake.resolve())) == {m.name for m in MAINTAINED} - stale
    assert stale == {m.name for m in MAINTAINED} - {"run_outcomes"}
    assert answers(lake) == answers(_without_maintained(lake, tmp_path / "computed"))


def test_tampered_or_damaged_maintained_tables_are_computed_instead(
    demo: DemoResult, tmp_path: Path
) -> None:
    org = copy_demo(demo, tmp_path / "org")
    lake = org / "lake"

    # no rows, committed as if computed from the tables as they are: one records a version of
    # runs that is not the lake's, one another definition, one no JSON at all
    def record(name: str, change: Callable[[dict[str, Any]], object]) -> str:
        recorded = json.loads(DeltaTable(str(lake / name)).history(1)[0][BUILT_FROM])
        change(recorded)
        return json.dumps(recorded)

    for name, recorded in (
        ("workflow_packages", record("workflow_packages", lambda r: r["tables"].update(runs=99))),
        ("contract_revisions", record("contract_revisions", lambda r: r.update(definition="x"))),
        ("shared_digests", "not json"),
    ):
        empty = DeltaTable(str(lake / name)).to_pyarrow_table().slice(0, 0)
        write_deltalake(
            str(lake / name),
            empty,
            mode="overwrite",
            commit_properties=CommitProperties(custom_metadata={BUILT_FROM: recorded}),
        )
    for data in (lake / "latest_runs").glob("*.parquet"):
        data.unlink()  # a damaged maintained table: its data file is gone
    current = current_tables(lake.resolve())
    tampered = {"workflow_packages", "contract_revisions", "shared_digests", "latest_runs"}
    assert current.keys() == {m.name for m in MAINTAINED} - tampered
    assert answers(lake) == answers(demo.lake)
    done = run_cli(
        tmp_path,
        "crawl",
        "--from",
        str(org / "store"),
        "--lake",
        str(lake),
        "--trust",
        str(org / "trust.yaml"),
    )
    assert done.code == 0, done.err
    assert maintained_rows(lake) == _session_rows(_without_maintained(lake, tmp_path / "c"))


@pytest.mark.parametrize("maintained", MAINTAINED, ids=[m.name for m in MAINTAINED])
def test_each_definition_reads_exactly_the_tables_its_currency_is_judged_on(
    maintained: Any,
) -> None:
    tree = sqlglot.parse_one(maintained.sql, read="duckdb")
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    tables = {t.name for t in tree.find_all(exp.Table)} - ctes
    assert tables == set(maintained.reads)
    assert tables <= set(BY_NAME)


def _append_changed(lake: Path, table: str, **values: object) -> None:
    """Append to ``table`` a copy of its first row with ``values`` in place of its own."""
    rows = DeltaTable(str(lake / table)).to_pyarrow_table().slice(0, 1)
    for name, value in values.items():
        index = rows.schema.get_field_index(name)
        column = pa.array([value], type=rows.schema.field(index).type)
        rows = rows.set_column(index, rows.schema.field(index), column)
    write_deltalake(str(lake / table), rows, mode="append")


#: A row appended to one of the tables, the maintained tables that read it (stale after), and
#: saved queries whose answers the row changes.
CHANGES = {
    "a failed run": (
        "run_events",
        {
            "run_id": "run-appended",
            "status": "failed",
            "reason": "appended after the crawl",
            "event_at": NOW - timedelta(hours=1),
        },
        {"run_outcomes", "workflow_activity"},
        {"failing_runs"},
    ),
    "an envelope claiming the workflow that never ran": (
        "verifications",
        {
            "status": "not_verified",
            "reason": "untrusted_signer",
            "project": "mobile-app",
            "workflow": "mobile-build",
            "envelope_digest": "sha256:" + "0" * 64,
        },
        {"signer_moves", "workflow_activity", "impersonations"},
        {"impersonation", "never_integrated", "slsa_build_levels"},
    ),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_a_change_to_a_table_they_read_makes_those_stale_and_the_answers_follow(
    demo: DemoResult, tmp_path: Path, change: str
) -> None:
    table, values, stale, moved = CHANGES[change]
    org = copy_demo(demo, tmp_path / "org")
    lake = org / "lake"
    assert set(current_tables(lake.resolve())) == {m.name for m in MAINTAINED}
    _append_changed(lake, table, **values)
    readers = {m.name for m in MAINTAINED if table in m.reads}
    assert readers == stale
    assert set(current_tables(lake.resolve())) == {m.name for m in MAINTAINED} - stale
    changed, before = answers(lake), answers(demo.lake)
    # the new row is in the answers, not the written rows of before
    assert {key.split()[0] for key in changed if changed[key] != before[key]} >= moved
    assert changed == answers(_without_maintained(lake, tmp_path / "computed"))
