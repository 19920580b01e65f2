"""SARIF 2.1.0 logs (code scanning, vulnerability scanning) into ``sarif_results`` rows.

One row per result of every run of the log: the tool, the rule, the level, the message and the
first location. A result's level is the SARIF one: its own ``level``, else (for a result whose
``kind`` is not ``fail``) ``none``, else its rule's ``defaultConfiguration.level``, else
``warning``. ``vulnerability_id`` is the CVE or GHSA id in the rule id of a vulnerability
scanner (Trivy: ``CVE-2023-44487``; Grype: ``CVE-2023-44487-golang.org/x/net``), else NULL.
A value of the wrong type reads as NULL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from attestlake._internal.untrusted_json import loads
from attestlake.crawl.normalize.common import as_list, as_object, bounded, integer, s
from attestlake.errors import ContentError

LEVELS = ("error", "warning", "note", "none")
_VULNERABILITY = re.compile(
    r"\b(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b", re.IGNORECASE
)


def vulnerability_id(rule_id: str | None) -> str | None:
    """The CVE id (upper case) or GHSA id (``GHSA-`` then lower case) a rule id names."""
    found = _VULNERABILITY.search(rule_id or "")
    if found is None:
        return None
    name = found[1]
    return name.upper() if name[:3].upper() == "CVE" else "GHSA" + name[4:].lower()


def results(data: bytes) -> Iterator[dict[str, Any]]:
    """The rows of a SARIF log; ContentError when it is not JSON or has no ``runs`` list."""
    doc = loads(data, max_bytes=len(data), what="SARIF log")
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise ContentError("no 'runs' list")
    return _runs(doc["runs"])


def _runs(runs: list[Any]) -> Iterator[dict[str, Any]]:
    for run in map(as_object, runs):
        driver = as_object(as_object(run.get("tool")).get("driver"))
        rules = [as_object(r) for r in as_list(driver.get("rules"))]
        by_id = {r["id"]: r for r in rules if s(r.get("id"))}
        tool = {
            "tool": s(driver.get("name")),
            "tool_version": s(driver.get("version")) or s(driver.get("semanticVersion")),
        }
        for result in as_list(run.get("results")):
            if isinstance(result, dict):
                yield {**tool, **_result(result, rules, by_id)}


def _rule(result: dict[str, Any], rules: list[dict[str, Any]], by_id: dict[str, Any]) -> Any:
    rule_id = s(result.get("ruleId")) or s(as_object(result.get("rule")).get("id"))
    index = integer(result.get("ruleIndex"))
    if index is not None and 0 <= index < len(rules):
        return rule_id or s(rules[index].get("id")), rules[index]
    return rule_id, as_object(by_id.get(rule_id)) if rule_id else {}


def _level(result: dict[str, Any], rule: dict[str, Any]) -> str:
    level = result.get("level")
    if level in LEVELS:
        return str(level)
    kind = result.get("kind")
    if isinstance(kind, str) and kind != "fail":
        return "none"
    default = as_object(rule.get("defaultConfiguration")).get("level")
    return str(default) if default in LEVELS else "warning"


def _result(
    result: dict[str, Any], rules: list[dict[str, Any]], by_id: dict[str, Any]
) -> dict[str, Any]:
    rule_id, rule = _rule(result, rules, by_id)
    message = as_object(result.get("message"))
    location = as_object(next(iter(as_list(result.get("locations"))), None))
    physical = as_object(location.get("physicalLocation"))
    line = integer(as_object(physical.get("region")).get("startLine"))
    return {
        "rule_id": bounded(rule_id),
        "vulnerability_id": vulnerability_id(rule_id),
        "level": _level(result, rule),
        "message": bounded(
            s(message.get("text"))
            or s(message.get("markdown"))
            or s(as_object(rule.get("shortDescription")).get("text"))
        ),
        "uri": bounded(s(as_object(physical.get("artifactLocation")).get("uri"))),
        "line": line if line is not None and line > 0 else None,
    }
