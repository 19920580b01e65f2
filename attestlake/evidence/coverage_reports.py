"""Code coverage reports: JaCoCo XML and Cobertura XML.

Both tools start their reports with a document type naming an external DTD; it is accepted
and never fetched, and a DTD with an internal subset or an entity is refused
(:func:`attestlake.evidence.documents.xml_root`).

- ``JACOCO_XML``: a ``<report name=...>`` whose top-level ``<counter type= missed= covered=>``
  elements give the totals (INSTRUCTION, BRANCH, LINE, ...);
- ``COBERTURA_XML``: a ``<coverage line-rate= branch-rate=>`` with its ``<packages>``.
"""

from __future__ import annotations

import math
from typing import Any

from attestlake.errors import MaterialError
from attestlake.evidence.documents import Parser, xml_root


def _whole(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def _rate(text: str | None) -> float | None:
    try:
        rate = float((text or "").strip())
    except ValueError:
        return None
    return rate if math.isfinite(rate) and 0 <= rate <= 1 else None


def jacoco(data: bytes, value: str) -> dict[str, Any]:
    kind = "JACOCO_XML"
    root = xml_root(data, value, kind, doctype=True)
    if root.tag != "report" or not root.get("name"):
        raise MaterialError(f"{value}: not a JaCoCo XML report (no <report name=...> root)")
    counters: dict[str, dict[str, int]] = {}
    for counter in root.findall("counter"):
        ctype, missed, covered = (
            counter.get("type"),
            _whole(counter.get("missed")),
            _whole(counter.get("covered")),
        )
        if not ctype or missed is None or covered is None:
            raise MaterialError(
                f"{value}: a JaCoCo counter needs a type and whole missed/covered counts"
            )
        counters[ctype[:32]] = {"missed": missed, "covered": covered}
    if not counters and root.find("package") is None and root.find("group") is None:
        raise MaterialError(f"{value}: a JaCoCo report with no counter, package or group")
    line = counters.get("LINE")
    return {
        "format": "JaCoCo",
        "name": str(root.get("name"))[:256],
        "packages": len(root.findall(".//package")),
        "counters": dict(sorted(counters.items())),
        "lineCoverage": (
            round(line["covered"] / (line["covered"] + line["missed"]), 4)
            if line and line["covered"] + line["missed"]
            else None
        ),
    }


def cobertura(data: bytes, value: str) -> dict[str, Any]:
    kind = "COBERTURA_XML"
    root = xml_root(data, value, kind, doctype=True)
    if root.tag != "coverage":
        raise MaterialError(f"{value}: not a Cobertura XML report (no <coverage> root)")
    line_rate, branch_rate = _rate(root.get("line-rate")), _rate(root.get("branch-rate"))
    if line_rate is None or branch_rate is None:
        raise MaterialError(
            f"{value}: a Cobertura report's line-rate and branch-rate are numbers from 0 to 1"
        )
    return {
        "format": "Cobertura",
        "version": root.get("version"),
        "lineRate": line_rate,
        "branchRate": branch_rate,
        "linesCovered": _whole(root.get("lines-covered")),
        "linesValid": _whole(root.get("lines-valid")),
        "packages": len(root.findall("packages/package")),
        "classes": len(root.findall("packages/package/classes/class")),
    }


COVERAGE_FORMATS: dict[str, tuple[str, Parser]] = {
    "JACOCO_XML": ("application/vnd.jacoco+xml", jacoco),
    "COBERTURA_XML": ("application/vnd.cobertura+xml", cobertura),
}
