"""Evidence files of a verified run into ``sarif_results``, ``junit_cases`` and
``vex_statements``: real tools' files read field by field, and hostile ones (billion laughs,
external entities, a million results, wrong types, statuses OpenVEX does not define) become a
bounded set of rows or one problem row, never an exception."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from attestlake.crawl.normalize import normalise
from attestlake.crawl.normalize.evidence import MAX_ROWS
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE
from tests import assets
from tests.unit.test_normalize import ENV, KEY, check_schema, ctx, statement

TRIVY = "sarif/trivy-two-high-one-medium-vulnerabilities.json"
CODEQL = "sarif/codeql-python-sql-injection-error-and-unused-import-note.json"
PYTEST = "junit/pytest-failure-error-skipped.xml"
VEX = "openvex/vexctl-clears-rapid-reset-and-grpc.json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run_rows(kind: str, data: bytes, *, name: str = "evidence") -> dict[str, list[dict[str, Any]]]:
    """The rows of a successful verified run naming ``data`` as a material of ``kind``."""
    material = {"name": name, "type": kind, "digest": {"sha256": digest(data)[7:]}}
    pred = {
        "run": {"id": "run-1", "status": "success", "startedAt": "2026-11-02T09:00:00Z"},
        "workflow": {"name": "build", "project": "app"},
        "materials": [material],
    }
    rows = normalise(ctx(statement(RUN_PREDICATE_TYPE, pred), evidence={digest(data): data}))
    check_schema(rows.by_table)
    return rows.by_table


def test_trivy_findings_become_rows_with_their_vulnerability_ids() -> None:
    data = assets.path(TRIVY).read_bytes()
    rows = run_rows("SARIF", data, name="scan")["sarif_results"]
    assert [(r["rule_id"], r["vulnerability_id"], r["level"]) for r in rows] == [
        ("CVE-2023-44487", "CVE-2023-44487", "error"),
        ("GHSA-m425-mq94-257g", "GHSA-m425-mq94-257g", "error"),
        ("CVE-2023-39326", "CVE-2023-39326", "warning"),
    ]
    first = rows[0]
    assert (first["tool"], first["tool_version"], first["uri"], first["line"]) == (
        "Trivy",
        "0.50.1",
        "usr/local/bin/app",
        1,
    )
    assert first["message"].startswith("Package: golang.org/x/net\nInstalled Version: 0.7.0")
    assert {(r["run_id"], r["manifest_digest"], r["envelope_digest"]) for r in rows} == {
        ("run-1", KEY, ENV)
    }
    assert {(r["material_name"], r["material_digest"], r["problem"]) for r in rows} == {
        ("scan", digest(data), None)
    }
    assert [r["position"] for r in rows] == [0, 1, 2]
    assert {r["run_date"] for r in rows} == {"2026-11-02"}


def test_codeql_results_keep_rule_location_and_level() -> None:
    rows = run_rows("SARIF", assets.path(CODEQL).read_bytes())["sarif_results"]
    assert [(r["tool"], r["tool_version"], r["rule_id"], r["level"], r["uri"], r["line"]) for r in rows] == [
        ("CodeQL", "2.17.6", "py/sql-injection", "error", "app/db.py", 42),
        ("CodeQL", "2.17.6", "py/unused-import", "note", "app/db.py", 3),
    ]  # fmt: skip
    # CodeQL gives no level of its own: the rule's defaultConfiguration says it.
    raw = assets.data(CODEQL)["runs"][0]["results"]
    assert all("level" not in r for r in raw)
    assert all(r["vulnerability_id"] is None for r in rows)


def test_a_result_level_follows_sarif_when_the_result_says_none() -> None:
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "t", "rules": [{"id": "R1"}]}},
                "results": [
                    {"ruleId": "R1", "message": {"text": "no level, no rule default"}},
                    {"ruleId": "R1", "kind": "pass", "message": {"text": "passed"}},
                    {"ruleIndex": 0, "level": "note", "message": {"text": "by index"}},
                ],
            }
        ],
    }
    rows = run_rows("SARIF", json.dumps(log).encode())["sarif_results"]
    assert [(r["rule_id"], r["level"]) for r in rows] == [
        ("R1", "warning"),
        ("R1", "none"),
        ("R1", "note"),
    ]


def test_pytest_cases_match_what_junitparser_reads() -> None:
    data = assets.path(PYTEST).read_bytes()
    rows = run_rows("JUNIT_XML", data, name="tests")["junit_cases"]
    expected = []
    for suite in JUnitXml.fromfile(str(assets.path(PYTEST))):
        for case in suite:
            kinds = {type(r) for r in case.result}
            status = (
                "failed" if Failure in kinds
                else "error" if Error in kinds
                else "skipped" if Skipped in kinds
                else "passed"
            )  # fmt: skip
            message = case.result[0].message if case.result else None
            expected.append((suite.name, case.classname, case.name, status, case.time, message))
    assert [
        (r["suite"], r["classname"], r["case_name"], r["status"], r["time"], r["message"])
        for r in rows
    ] == expected
    assert [r["status"] for r in rows] == ["passed", "failed", "error", "skipped", "passed"]
    assert rows[1]["message"].startswith("AssertionError: assert 401 == 200\n")


def test_openvex_statements_become_one_row_per_product() -> None:
    rows = run_rows("OPENVEX", assets.path(VEX).read_bytes())["vex_statements"]
    assert [(r["vulnerability_id"], r["status"], r["justification"]) for r in rows] == [
        ("CVE-2023-44487", "not_affected", "vulnerable_code_not_in_execute_path"),
        ("GHSA-m425-mq94-257g", "fixed", None),
    ]
    assert json.loads(rows[0]["aliases"]) == ["GHSA-qppj-fm5r-hxr3", "GHSA-4374-p667-p6c8"]
    assert rows[0]["product"].startswith("pkg:oci/app@sha256%3Afff")
    assert rows[0]["issued_at"].isoformat() == "2026-11-02T09:30:00+00:00"
    assert rows[1]["issued_at"] == rows[0]["issued_at"]  # the document's timestamp
    assert rows[0]["impact_statement"].startswith("The service does not serve HTTP/2")
    assert {r["problem"] for r in rows} == {None}


def test_the_openvex_v0_0_shape_is_read_too() -> None:
    data = assets.path("openvex/openvex-v0.0.1-git-two-products.json").read_bytes()
    rows = run_rows("OPENVEX", data)["vex_statements"]
    assert [(r["vulnerability_id"], r["product"], r["status"], r["position"]) for r in rows] == [
        ("CVE-2023-12345", "pkg:apk/wolfi/git@2.39.0-r1?arch=armv7", "not_affected", 0),
        ("CVE-2023-12345", "pkg:apk/wolfi/git@2.39.0-r1?arch=x86_64", "not_affected", 1),
    ]


def test_a_status_openvex_does_not_define_is_null_and_named_as_a_problem() -> None:
    data = assets.path("openvex/rapid-reset-unknown-status-wont-fix.json").read_bytes()
    first, second = run_rows("OPENVEX", data)["vex_statements"]
    assert (first["vulnerability_id"], first["status"]) == ("CVE-2023-44487", None)
    assert first["problem"] == (
        "status 'wont_fix' is not one of OpenVEX's (not_affected, affected, fixed, "
        "under_investigation)"
    )
    assert first["justification"] == "vulnerable_code_not_in_execute_path"
    assert (second["status"], second["problem"]) == ("fixed", None)


# -- hostile files -----------------------------------------------------------------------------
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="bomb"><testcase name="t"><failure message="&lol9;"/></testcase></testsuite>
"""
#: A DOCTYPE past the first 64 KiB (a long comment first), naming a local file.
LATE_EXTERNAL_ENTITY = (
    b"<?xml version='1.0'?><!--" + b"x" * 70_000 + b"-->"
    b'<!DOCTYPE t [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    b'<testsuite name="s"><testcase name="c"><failure message="&secret;"/></testcase></testsuite>'
)


@pytest.mark.parametrize(
    "data", [BILLION_LAUGHS, LATE_EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"]
)
def test_xml_declaring_entities_is_one_problem_row_and_nothing_of_it_is_read(data: bytes) -> None:
    (row,) = run_rows("JUNIT_XML", data, name="tests")["junit_cases"]
    assert row["problem"] == (
        "not read as a JUnit XML report: JUnit XML report: declares a DTD or an entity "
        "(DTDForbidden), which is refused"
    )
    assert (row["status"], row["case_name"], row["message"], row["position"]) == (
        None,
        None,
        None,
        None,
    )
    assert (row["run_id"], row["material_name"], row["material_digest"]) == (
        "run-1",
        "tests",
        digest(data),
    )


@pytest.mark.parametrize(
    ("kind", "data", "problem"),
    [
        ("JUNIT_XML", b"<testsuite><testcase>", "not well-formed XML"),
        ("JUNIT_XML", b"<html><body/></html>", "the root element is <html>"),
        ("SARIF", b'{"version": "2.1.0"}', "no 'runs' list"),
        ("SARIF", b'{"runs": [], "runs": []}', "SARIF log"),
        ("OPENVEX", b'{"statements": []}', "no OpenVEX @context"),
        ("OPENVEX", b'{"@context": "https://openvex.dev/ns/v0.2.0"}', "no 'statements' list"),
    ],
)
def test_a_file_that_is_not_what_its_kind_says_is_one_problem_row(
    kind: str, data: bytes, problem: str
) -> None:
    table = {"JUNIT_XML": "junit_cases", "SARIF": "sarif_results", "OPENVEX": "vex_statements"}
    (row,) = run_rows(kind, data)[table[kind]]
    assert row["problem"].startswith("not read as a") and problem in row["problem"]


def test_a_million_sarif_results_are_bounded_with_a_problem_row_saying_so() -> None:
    log = b'{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t"}},"results":['
    log += b",".join([b'{"ruleId":"R","level":"error"}'] * 1_000_000) + b"]}]}"
    rows = run_rows("SARIF", log)["sarif_results"]
    assert len(rows) == MAX_ROWS + 1
    assert {r["level"] for r in rows[:MAX_ROWS]} == {"error"}
    assert rows[-1]["problem"] == (
        f"only the first {MAX_ROWS} rows of this SARIF log are kept; the rest is not read"
    )
    assert rows[-1]["position"] is None and rows[MAX_ROWS - 1]["position"] == MAX_ROWS - 1


def test_wrong_typed_fields_read_as_null_and_the_rest_is_kept() -> None:
    log = {
        "version": "2.1.0",
        "runs": [
            "not a run",
            {
                "tool": {"driver": {"name": ["Trivy"], "version": 5, "rules": "none"}},
                "results": [
                    7,
                    {
                        "ruleId": {"id": "CVE-2023-44487"},
                        "ruleIndex": "0",
                        "level": "critical",
                        "kind": 3,
                        "message": {"text": ["x"]},
                        "locations": "usr/bin/app",
                    },
                    {
                        "ruleId": "CVE-2023-44487",
                        "message": {"text": "m" * 5000},
                        "locations": [{"physicalLocation": {"region": {"startLine": "12"}}}],
                    },
                ],
            },
        ],
    }
    first, second = run_rows("SARIF", json.dumps(log).encode())["sarif_results"]
    assert first == {
        **first,
        "tool": None,
        "tool_version": None,
        "rule_id": None,
        "vulnerability_id": None,
        "level": "warning",
        "message": None,
        "uri": None,
        "line": None,
        "problem": None,
    }
    # a line given as a string of digits reads as the number, as everywhere in the lake
    assert (second["vulnerability_id"], second["line"], len(second["message"])) == (
        "CVE-2023-44487",
        12,
        1000,
    )
    assert second["message"].endswith("…")
    vex = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "timestamp": 12,
        "statements": [
            "x",
            {"vulnerability": ["CVE-1"], "products": "p", "status": ["fixed"]},
            {"vulnerability": {"name": "CVE-2023-1", "aliases": "A"}, "status": "fixed",
             "justification": "because", "products": [{"@id": 5}, {"@id": "pkg:a/b@1"}]},
        ],
    }  # fmt: skip
    unnamed, named = run_rows("OPENVEX", json.dumps(vex).encode())["vex_statements"]
    assert (unnamed["vulnerability_id"], unnamed["status"], unnamed["product"]) == (
        None,
        None,
        None,
    )
    assert unnamed["problem"] == (
        "status of JSON type list is not one of OpenVEX's (not_affected, affected, fixed, "
        "under_investigation); it names no vulnerability"
    )
    assert (named["product"], named["aliases"], named["justification"]) == ("pkg:a/b@1", None, None)
    assert named["problem"] == "justification 'because' is not one of OpenVEX's"
    assert named["issued_at"] is None


def test_only_files_the_successful_record_names_are_read_and_each_once() -> None:
    data = assets.path(CODEQL).read_bytes()
    other = assets.path(TRIVY).read_bytes()
    material = {"type": "SARIF", "digest": {"sha256": digest(data)[7:]}}
    pred = {
        "run": {"id": "run-1", "status": "success"},
        "materials": [{**material, "name": "a"}, {**material, "name": "b"}],
    }
    evidence = {digest(data): data, digest(other): other}
    rows = normalise(ctx(statement(RUN_PREDICATE_TYPE, pred), evidence=evidence)).by_table
    assert [(r["material_name"], r["rule_id"]) for r in rows["sarif_results"]] == [
        ("a", "py/sql-injection"),
        ("a", "py/unused-import"),
    ]
    failed = {**pred, "run": {"id": "run-1", "status": "failed"}}
    rows = normalise(ctx(statement(RUN_PREDICATE_TYPE, failed), evidence=evidence)).by_table
    assert "sarif_results" not in rows


def test_a_junit_report_of_millions_of_cases_or_deep_suites_is_read_bounded() -> None:
    many = b"<testsuite name='s'>" + b"<testcase name='c'/>" * 2_000_000 + b"</testsuite>"
    rows = run_rows("JUNIT_XML", many)["junit_cases"]
    assert len(rows) == MAX_ROWS + 1
    assert rows[-1]["problem"] == (
        f"only the first {MAX_ROWS} rows of this JUnit XML report are kept; the rest is not read"
    )
    depth = 200_000  # suites in suites, read without recursion
    deep = (
        b"<testsuites>" + b"<testsuite name='inner'>" * depth
        + b"<testcase name='c'><failure message='boom'/></testcase>"
        + b"</testsuite>" * depth + b"</testsuites>"
    )  # fmt: skip
    (row,) = run_rows("JUNIT_XML", deep)["junit_cases"]
    assert (row["suite"], row["case_name"], row["status"], row["message"]) == (
        "inner",
        "c",
        "failed",
        "boom",
    )
