"""Reports where CI shows findings: SARIF read back by sarif-tools, JUnit XML read back by
junitparser, on the demo's report; and ``query run --fail-if-rows`` gating a job."""

from __future__ import annotations

import json
from pathlib import Path

from junitparser import Failure, JUnitXml, Skipped
from sarif import loader

from attestlake.audit.report_ci import render_junit, render_sarif
from attestlake.demo.demo import DemoResult
from tests.integration.cli_helpers import run_cli
from tests.lakefactory import raw_lake


def test_sarif_has_one_result_per_finding_and_one_rule_per_query(
    tmp_path: Path, demo: DemoResult
) -> None:
    report = demo.report
    path = tmp_path / "report.sarif"
    path.write_text(render_sarif(report))
    read = loader.load_sarif_file(str(path))
    assert read.get_distinct_tool_names() == ["attestlake"]
    findings = {r.query.name: r.findings for r in report.results}
    assert read.get_result_count() == sum(findings.values())
    records = read.get_records()
    by_rule: dict[str, int] = {}
    for record in records:
        by_rule[record["Code"]] = by_rule.get(record["Code"], 0) + 1
        assert record["Location"] == f"queries/{record['Code']}.sql"
    assert by_rule == {name: n for name, n in findings.items() if n}
    data = json.loads(path.read_text())
    run = data["runs"][0]
    severities = {r.query.name: r.query.severity for r in report.results}
    for rule in run["tool"]["driver"]["rules"]:
        level = rule["defaultConfiguration"]["level"]
        assert level == {"critical": "error", "high": "error", "medium": "warning"}.get(
            severities[rule["id"]], "note"
        )
        assert 0 <= float(rule["properties"]["security-severity"]) <= 10
    prints = [r["partialFingerprints"]["attestlakeFinding/v1"] for r in run["results"]]
    assert len(set(prints)) == len(prints)  # one fingerprint per finding
    # the same lake reported again: the same fingerprints (a viewer follows each finding)
    again = json.loads(render_sarif(report))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in again] == [
        r["partialFingerprints"] for r in run["results"]
    ]


def test_junit_has_a_case_per_query_failing_on_findings(tmp_path: Path, demo: DemoResult) -> None:
    report = demo.report
    path = tmp_path / "report.xml"
    path.write_text(render_junit(report))
    xml = JUnitXml.fromfile(str(path))
    cases = {case.name: case for suite in xml for case in suite}
    assert set(cases) == {r.query.name for r in report.results}
    for result in report.results:
        failed = any(isinstance(r, Failure) for r in cases[result.query.name].result)
        expected = result.findings > 0 and result.query.severity != "info"
        assert failed == expected, result.query.name
    assert xml.failures == sum(
        r.findings > 0 and r.query.severity != "info" for r in report.results
    )
    assert xml.tests == len(report.results)


def test_missing_inputs_are_skipped_cases_and_sarif_notifications(tmp_path: Path) -> None:
    raw_lake(tmp_path / "lake", {"runs": []})
    for fmt, out in (("junit", "r.xml"), ("sarif", "r.sarif")):
        done = run_cli(tmp_path, "report", "--lake", "lake", "--format", fmt, "-o", out)
        assert done.code == 0, done.err
    xml = JUnitXml.fromfile(str(tmp_path / "r.xml"))
    skipped = {
        case.name
        for suite in xml
        for case in suite
        if any(isinstance(r, Skipped) for r in case.result)
    }
    assert {"never_integrated", "stale_workflows", "non_compliant_workflows"} <= skipped
    run = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any(n.startswith("never_integrated: input missing: no inventory") for n in notes)
    assert run["results"] == []


def test_query_run_fail_if_rows_gates_a_job(tmp_path: Path, demo: DemoResult) -> None:
    found = run_cli(
        tmp_path, "query", "run", "never_integrated", "--lake", str(demo.lake), "--fail-if-rows"
    )
    assert found.code == 4
    assert "mobile-build" in found.out  # the rows are printed first
    assert "never_integrated: 1 finding(s) in 1 row(s) (--fail-if-rows)" in found.err
    nothing = run_cli(
        tmp_path, "query", "run", "trust_changes", "--lake", str(demo.lake), "--fail-if-rows"
    )
    assert nothing.code == 0, nothing.err
    written = run_cli(
        tmp_path,
        *("query", "run", "never_integrated", "--lake", str(demo.lake), "--fail-if-rows"),
        *("--format", "json", "--output", "found.json"),
    )
    assert written.code == 4 and json.loads((tmp_path / "found.json").read_text())["findings"] == 1
