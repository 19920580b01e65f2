"""Reports where CI shows findings: SARIF 2.1.0 (GitHub code scanning and other SARIF viewers)
and JUnit XML (the test-result view of every CI system).

**SARIF.** One run of the tool ``attestlake``; one rule per saved query (its title,
description, and a level and ``security-severity`` from its severity); one result per finding,
that is per entity the query names (see :mod:`attestlake.audit.findings`), not per row: its
message quotes the entity's columns and how many rows list it, and ``partialFingerprints``
(the sha256 of query and entity) lets a viewer follow one finding across reports. Findings are
about a lake, not about source lines: each result's location is the saved query's file
(``queries/NAME.sql``), with the entity as a logical location.

**JUnit.** One test suite per severity, one test case per saved query: it fails when the query
found something (the message counts findings and rows, the body lists the findings), is
skipped when an input it needs is missing, and passes otherwise. An ``info`` query (an overview,
a record of a decision) never fails: what it found is the case's output.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any
from xml.etree import ElementTree as ET

from attestlake._internal.version import __version__
from attestlake.audit.findings import Entity
from attestlake.audit.queries import QueryResult
from attestlake.audit.query_files import SEVERITIES
from attestlake.audit.report import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: SARIF level and GitHub's ``security-severity`` (0-10) of each saved-query severity.
_LEVELS = {
    "critical": ("error", "9.5"),
    "high": ("error", "8.0"),
    "medium": ("warning", "5.5"),
    "low": ("note", "3.0"),
    "info": ("note", "0.0"),
}
#: Findings listed in one JUnit failure's text (the report's other formats list every row).
MAX_LISTED = 200


def _label(entity: Entity) -> str:
    """``column=value, ...`` of an entity (values as the query gave them)."""
    parts = []
    for column, value in zip(entity.columns, entity.values, strict=True):
        try:
            shown = json.loads(value)
        except ValueError:
            shown = value
        parts.append(f"{column}={shown}")
    return ", ".join(parts)


def _findings(result: QueryResult) -> list[tuple[Entity, int]]:
    """Each distinct entity of ``result``, in first-row order, with how many rows name it."""
    counted = Counter(result.entities())
    return list(counted.items())


def _rule(result: QueryResult) -> dict[str, Any]:
    q = result.query
    level, security = _LEVELS[q.severity]
    return {
        "id": q.name,
        "name": q.name,
        "shortDescription": {"text": q.title},
        "fullDescription": {"text": q.description},
        "defaultConfiguration": {"level": level},
        "help": {"text": f"{q.description} (attestlake query show {q.name})"},
        "properties": {
            "security-severity": security,
            "tags": ["security", "supply-chain", "attestlake", q.severity],
        },
    }


def _result(result: QueryResult, index: int, entity: Entity, rows: int) -> dict[str, Any]:
    q = result.query
    label = _label(entity)
    fingerprint = hashlib.sha256(f"{q.name}\0{label}".encode()).hexdigest()
    return {
        "ruleId": q.name,
        "ruleIndex": index,
        "level": _LEVELS[q.severity][0],
        "message": {"text": f"{q.title}: {label} ({rows} row{'s' if rows != 1 else ''})"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f"queries/{q.name}.sql"},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{"name": label, "kind": "object"}],
            }
        ],
        "partialFingerprints": {"attestlakeFinding/v1": fingerprint},
        "properties": {"severity": q.severity, "rows": rows},
    }


def render_sarif(report: Report) -> str:
    """The report as a SARIF 2.1.0 log (see the module doc)."""
    ordered = report.ordered()
    results = [
        _result(r, i, entity, rows) for i, r in enumerate(ordered) for entity, rows in _findings(r)
    ]
    notes = [
        {"level": "warning", "message": {"text": f"{r.query.name}: input missing: {m.message}"}}
        for r in ordered
        for m in r.missing
    ]
    return sarif_log(
        [_rule(r) for r in ordered],
        results,
        automationDetails={"id": f"attestlake/{report.lake}/"},
        invocations=[{"executionSuccessful": True, "toolExecutionNotifications": notes}],
        properties={"lake": report.lake, "generatedAt": report.generated_at.isoformat()},
    )


def sarif_log(rules: list[dict[str, Any]], results: list[dict[str, Any]], **run: Any) -> str:
    """A SARIF 2.1.0 log of one run of attestlake: its ``rules``, ``results`` and the other
    fields of the run given as keywords."""
    driver = {
        "name": "attestlake",
        "version": __version__,
        "informationUri": "https://attestlake.dev",
        "rules": rules,
    }
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, **run, "results": results}],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _case(suite: ET.Element, result: QueryResult) -> None:
    q = result.query
    case = ET.SubElement(suite, "testcase", classname=f"attestlake.{q.severity}", name=q.name)
    case.set("time", "0")
    if result.missing:
        ET.SubElement(case, "skipped", message="; ".join(m.message for m in result.missing))
        return
    found = _findings(result)
    if not found:
        return
    lines = [f"- {_label(entity)} ({rows} row(s))" for entity, rows in found[:MAX_LISTED]]
    if len(found) > MAX_LISTED:
        lines.append(f"... and {len(found) - MAX_LISTED} more (see the JSON or HTML report)")
    summary = f"{q.title}: {len(found)} finding(s) in {result.count} row(s)"
    if q.severity == "info":
        ET.SubElement(case, "system-out").text = summary + "\n" + "\n".join(lines)
        return
    failure = ET.SubElement(case, "failure", message=summary, type=q.severity)
    failure.text = f"{q.description}\n\n" + "\n".join(lines)


def render_junit(report: Report) -> str:
    """The report as JUnit XML (see the module doc)."""
    root = ET.Element("testsuites", name=f"attestlake report of {report.lake}")
    by_severity: dict[str, list[QueryResult]] = {s: [] for s in reversed(SEVERITIES)}
    for result in report.ordered():
        by_severity[result.query.severity].append(result)
    for severity, results in by_severity.items():
        if not results:
            continue
        suite = ET.SubElement(root, "testsuite", name=f"attestlake.{severity}")
        suite.set("timestamp", report.generated_at.strftime("%Y-%m-%dT%H:%M:%S"))
        for result in results:
            _case(suite, result)
    return junit_text(root)


def junit_text(root: ET.Element) -> str:
    """The JUnit XML document of ``root`` (``testsuites``), each suite and the whole counted:
    tests, failures, skipped (and no errors)."""
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
        suite.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
        suite.set("errors", "0")
    for total in ("tests", "failures", "skipped"):
        root.set(total, str(sum(int(s.get(total, "0")) for s in root.findall("testsuite"))))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
