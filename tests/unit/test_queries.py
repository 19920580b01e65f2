"""Saved queries: header parsing, parameters read from the SQL, binding, and rendering."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from attestlake.audit.queries import run_query
from attestlake.audit.query_files import (
    SEVERITIES,
    Param,
    default_directory,
    get_query,
    load_queries,
    parse_query,
    severity_rank,
    sql_parameters,
)
from attestlake.errors import InputError, QueryError
from attestlake.lake.lake import Lake
from attestlake.lake.render import format_table, markdown_table
from tests.lakefactory import raw_lake

REPO_QUERIES = Path(__file__).resolve().parents[2] / "queries"
DIGEST = "sha256:" + "a" * 64
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

GOOD = """\
-- title: Runs of a project
-- description: Every run of one project,
--   newest first.
-- severity: low
-- param: project : the project name
-- param: since = 1970-01-01 : runs started on or after this date
SELECT run_id, project FROM runs
WHERE project = $project AND started_at >= CAST($since AS DATE)
  AND workflow <> '$notaparam' -- $notaparam either
ORDER BY run_id
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.sql"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def qdir(tmp_path: Path) -> Path:
    d = tmp_path / "queries"
    write(d, "runs_of_project", GOOD)
    return d


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    runs = [
        {
            "run_id": f"run-{i}",
            "manifest_digest": "sha256:" + str(i) * 64,
            "project": project,
            "workflow": "build",
            "started_at": T0,
            "run_date": "2024-05-01",
        }
        for i, project in enumerate(["payments", "checkout"], start=1)
    ]
    return Lake.open(raw_lake(tmp_path / "lake", {"runs": runs}))


# -- loading -----------------------------------------------------------------------------
def test_header_and_params_are_parsed(qdir: Path) -> None:
    (q,) = load_queries(qdir)
    assert q.name == "runs_of_project"
    assert q.title == "Runs of a project"
    assert q.description == "Every run of one project, newest first."
    assert q.severity == "low"
    assert q.params == (
        Param("project", None, "the project name"),
        Param("since", "1970-01-01", "runs started on or after this date"),
    )
    assert q.sql.startswith("SELECT run_id")
    assert q.path == qdir / "runs_of_project.sql"


def test_queries_are_sorted_by_name(qdir: Path) -> None:
    write(qdir, "a_first", GOOD)
    assert [q.name for q in load_queries(qdir)] == ["a_first", "runs_of_project"]


@pytest.mark.parametrize("field", ["title", "description", "severity"])
def test_missing_header_field_names_file_and_field(qdir: Path, field: str) -> None:
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith(f"-- {field}:"))
    text = text.replace("--   newest first.\n", "") if field == "description" else text
    path = write(qdir, "broken", text)
    with pytest.raises(QueryError, match=field) as exc:
        load_queries(qdir)
    assert str(path) in str(exc.value)


def test_unknown_severity(qdir: Path) -> None:
    path = write(qdir, "broken", GOOD.replace("severity: low", "severity: urgent"))
    with pytest.raises(QueryError, match=r"severity.*'urgent'") as exc:
        load_queries(qdir)
    assert str(path) in str(exc.value)


def test_unknown_header_field(qdir: Path) -> None:
    write(qdir, "broken", "-- owner: me\n" + GOOD)
    with pytest.raises(QueryError, match=r"broken\.sql:1"):
        load_queries(qdir)


def test_param_used_without_param_line(qdir: Path) -> None:
    path = write(qdir, "broken", GOOD.replace("-- param: project : the project name\n", ""))
    with pytest.raises(QueryError, match=r"\$project") as exc:
        load_queries(qdir)
    assert str(path) in str(exc.value)


def test_param_line_never_used(qdir: Path) -> None:
    write(qdir, "broken", GOOD.replace("-- severity: low", "-- severity: low\n-- param: x : x"))
    with pytest.raises(QueryError, match=r"broken\.sql: param x is declared"):
        load_queries(qdir)


def test_param_line_needs_a_description(qdir: Path) -> None:
    write(qdir, "broken", GOOD.replace(" : the project name", ""))
    with pytest.raises(QueryError, match="DESCRIPTION"):
        load_queries(qdir)


def test_sql_parameters_skip_literals_and_comments() -> None:
    sql = """SELECT $a, '$b', 'it''s $c', E'\\' $d', "$e", $$ $f $$, $t$ $g $t$ -- $h
    /* $i */ FROM x WHERE y = $j AND z = $a;  -- trailing comment"""
    assert sql_parameters(sql) == ["a", "j"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1; DROP TABLE runs", "one statement"),
        ("SELECT $1", "positional"),
        ("SELECT ?", "positional"),
        ("SELECT 'open", "unterminated string"),
        ("SELECT 1 /* open", "unterminated /\\* comment"),
    ],
)
def test_sql_parameters_refuse(sql: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        sql_parameters(sql)


def test_unknown_query_name_lists_known(qdir: Path) -> None:
    with pytest.raises(QueryError, match="known queries: runs_of_project"):
        get_query("nope", qdir)
    with pytest.raises(QueryError, match="known queries"):
        get_query("../queries/runs_of_project", qdir)
    assert get_query("runs_of_project", qdir).title == "Runs of a project"


def test_severity_rank() -> None:
    assert [severity_rank(s) for s in SEVERITIES] == [0, 1, 2, 3, 4]
    with pytest.raises(QueryError, match="unknown severity"):
        severity_rank("urgent")


# -- the repository's saved queries -------------------------------------------------------
def test_every_repository_query_loads() -> None:
    assert default_directory() == REPO_QUERIES
    files = sorted(p.stem for p in REPO_QUERIES.glob("*.sql"))
    queries = load_queries()
    assert [q.name for q in queries] == files
    assert {"non_compliant_workflows", "missing_sbom_digests", "verification_failures"} <= set(
        files
    )
    for q in queries:
        assert q.title and q.description and q.severity in SEVERITIES
        assert q.finding, f"{q.name}: say what one finding is ('-- finding: COLUMNS')"


EXPECTED_COLUMNS = {
    "non_compliant_workflows": [
        "project",
        "workflow",
        "team",
        "run_id",
        "started_at",
        "contract_name",
        "run_contract_revision",
        "latest_contract_revision",
        "problem",
        "missing_material",
        "missing_material_type",
        "missing_annotation",
        "runner_type",
        "allowed_runner_types",
        "runner_url",
    ],
    "missing_sbom_digests": [
        "project",
        "workflow",
        "team",
        "run_id",
        "started_at",
        "image",
        "image_digest",
        "problem",
        "sbom_main_digest",
    ],
    "verification_failures": [
        "source",
        "manifest_digest",
        "envelope_digest",
        "reason",
        "detail",
        "signer",
        "key_id",
        "predicate_type",
        "project",
        "workflow",
        "crawled_at",
    ],
}


def test_every_repository_query_runs_on_an_empty_lake(tmp_path: Path) -> None:
    with Lake.open(raw_lake(tmp_path / "lake", {})) as lake:
        for q in load_queries():
            required = {p.name: "log4j-core" for p in q.params if p.required}
            result = run_query(lake, q, required)  # QueryError if a finding column is absent
            assert result.count == 0 and result.findings == 0, q.name
            assert [m.name for m in result.missing] == list(q.requires), q.name
            if q.name in EXPECTED_COLUMNS:
                assert result.table.column_names == EXPECTED_COLUMNS[q.name]


# -- what a finding is, and the inputs a query needs --------------------------------------
def test_finding_and_requires_are_parsed(qdir: Path) -> None:
    text = GOOD.replace(
        "-- severity: low",
        "-- severity: low\n-- finding: project,run_id\n-- requires: inventory, contracts",
    )
    q = parse_query(text, qdir / "q.sql")
    assert (q.finding, q.requires) == (("project", "run_id"), ("inventory", "contracts"))
    plain = parse_query(GOOD, qdir / "q.sql")
    assert (plain.finding, plain.requires) == ((), ())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "-- requires: inventroy",
            r"q\.sql:5: requires: unknown input 'inventroy'; one of: inventory, contracts",
        ),
        (
            "-- finding: project workflow",
            r"q\.sql:5: finding: expected column names separated by commas",
        ),
        ("-- finding: project,", "expected column names"),
        ("-- finding: project; DROP TABLE runs", "expected column names"),
        ("-- finding: run_id, run_id", "a name is given twice"),
        ("-- finding:", "finding: empty"),
    ],
)
def test_bad_finding_or_requires_lines(qdir: Path, line: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(GOOD.replace("-- severity: low", f"-- severity: low\n{line}"), qdir / "q.sql")


def test_findings_count_distinct_entities_and_rows_without_a_declaration(
    qdir: Path, lake: Lake
) -> None:
    sql = (
        "SELECT * FROM (VALUES ('a', 1), ('a', 2), (NULL, 3), (NULL, 4), ('b', NULL)) "
        "AS t(entity, n) ORDER BY n"
    )
    header = "-- title: t\n-- description: d\n-- severity: low\n"
    per_entity = run_query(lake, parse_query(header + "-- finding: entity\n" + sql, qdir / "e.sql"))
    assert (per_entity.count, per_entity.findings) == (5, 3)  # 'a', NULL and 'b'
    per_row = run_query(lake, parse_query(header + sql, qdir / "r.sql"))
    assert (per_row.count, per_row.findings) == (5, 5)


def test_a_finding_column_the_answer_lacks_is_an_error(qdir: Path, lake: Lake) -> None:
    text = GOOD.replace("-- severity: low", "-- severity: low\n-- finding: project, workflow")
    with pytest.raises(QueryError, match=r"names column\(s\) workflow that its answer does not"):
        run_query(lake, parse_query(text, qdir / "q.sql"), {"project": "payments"})


# -- running and binding ------------------------------------------------------------------
def test_run_query_fills_defaults_and_binds(qdir: Path, lake: Lake) -> None:
    q = get_query("runs_of_project", qdir)
    result = run_query(lake, q, {"project": "payments"})
    assert result.params == {"project": "payments", "since": "1970-01-01"}
    assert result.rows == [{"run_id": "run-1", "project": "payments"}]
    assert result.count == 1
    assert run_query(lake, q, {"project": "payments", "since": "2024-05-02"}).count == 0


def test_unknown_parameter_lists_accepted(qdir: Path, lake: Lake) -> None:
    q = get_query("runs_of_project", qdir)
    with pytest.raises(QueryError, match="no parameter projekt; accepted: project, since"):
        run_query(lake, q, {"projekt": "payments"})


def test_missing_required_parameter(qdir: Path, lake: Lake) -> None:
    q = get_query("runs_of_project", qdir)
    with pytest.raises(QueryError, match="needs parameter project"):
        run_query(lake, q)


INJECTION = "'; DROP TABLE runs; --"


def _runs_state(lake: Lake) -> tuple[int, int]:
    count = lake.sql("SELECT count(*) AS n FROM runs").column("n")[0].as_py()
    return count, DeltaTable(str(lake.root / "runs")).version()


def test_parameter_values_are_data_not_sql(qdir: Path, lake: Lake) -> None:
    before = _runs_state(lake)
    q = get_query("runs_of_project", qdir)
    assert run_query(lake, q, {"project": INJECTION}).count == 0
    with pytest.raises(QueryError, match=r"bad value for parameter since="):
        run_query(lake, q, {"project": "payments", "since": INJECTION})
    with pytest.raises(QueryError, match=r"parameter since='notadate'.*YYYY-MM-DD"):
        run_query(lake, get_query("missing_sbom_digests"), {"since": "notadate"})
    assert INJECTION not in q.sql
    assert _runs_state(lake) == before == (2, before[1])


def test_sbom_material_without_digest_is_reported(tmp_path: Path) -> None:
    def run(n: int) -> dict[str, object]:
        return {
            "run_id": f"r{n}",
            "manifest_digest": f"sha256:{n}" + "0" * 63,
            "project": "p",
            "workflow": f"w{n}",
            "started_at": T0,
            "run_date": "2024-05-01",
        }

    def material(n: int, name: str, kind: str, **extra: object) -> dict[str, object]:
        digest = f"sha256:{n}" + "0" * 63
        base = {"manifest_digest": digest, "run_id": f"r{n}", "name": name, "type": kind}
        return {**base, "run_date": "2024-05-01", **extra}

    image = {"value": "ghcr.io/acme/app@" + DIGEST, "digest": DIGEST, "output": True}
    rows = {
        "runs": [run(1), run(2), run(3), run(4)],
        "materials": [
            material(1, "image", "CONTAINER_IMAGE", **image),
            material(1, "sbom", "SBOM_CYCLONEDX_JSON", digest=None),  # found: no digest
            material(2, "image", "CONTAINER_IMAGE", **image),
            material(2, "sbom", "SBOM_SPDX_JSON", digest=DIGEST),  # not found
            material(3, "image", "CONTAINER_IMAGE", **image),
            material(3, "notes", "SBOMISH", digest=DIGEST),  # not an SBOM_ type: found
            material(4, "base", "CONTAINER_IMAGE", **{**image, "output": False}),  # an input
        ],
    }
    with Lake.open(raw_lake(tmp_path / "lake", rows)) as lake:
        result = run_query(lake, get_query("missing_sbom_digests"))
    assert [(r["run_id"], r["problem"]) for r in result.rows] == [
        ("r1", "SBOM without digest"),
        ("r3", "no SBOM in run"),
    ]


# -- rendering ----------------------------------------------------------------------------
SAMPLE = pa.table(
    {
        "name": ["short", "x" * 100, "evil\x1b[2Jname|[link](http://x)"],
        "n": [1, 22, None],
        "at": pa.array([T0, None, T0], pa.timestamp("us", tz="UTC")),
    }
)


def test_format_table_text() -> None:
    text = format_table(SAMPLE, "table")
    lines = text.splitlines()
    assert lines[0].split() == ["name", "n", "at"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert "x" * 59 + "…" in text and "x" * 60 not in text
    assert "\x1b" not in text and "\\x1b[2J" in text
    assert "NULL" in lines[3]
    assert "2024-05-01T10:00:00Z" in lines[2]
    assert format_table(SAMPLE.slice(0, 0), "table") == "(no rows)"


def test_format_table_json_and_csv() -> None:
    rows = json.loads(format_table(SAMPLE, "json"))
    assert rows[0] == {"name": "short", "n": 1, "at": "2024-05-01T10:00:00Z"}
    assert rows[1]["name"] == "x" * 100 and rows[1]["at"] is None
    parsed = list(csv.reader(io.StringIO(format_table(SAMPLE, "csv"))))
    assert parsed[0] == ["name", "n", "at"]
    assert parsed[1] == ["short", "1", "2024-05-01T10:00:00Z"]
    assert parsed[3][0] == "evil\x1b[2Jname|[link](http://x)"
    with pytest.raises(InputError, match="unknown output format"):
        format_table(SAMPLE, "xml")


def test_markdown_table_escapes_and_caps() -> None:
    text = markdown_table(SAMPLE, limit=2)
    assert text.count("\n| ") == 2  # header + 2 rows (separator starts with "|-")
    assert text.endswith("… 1 more")
    evil = markdown_table(SAMPLE.slice(2, 1))
    assert "\\|" in evil and "\\[link\\]" in evil and "\x1b" not in evil
