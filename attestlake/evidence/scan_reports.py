"""Security scanners' reports: GitLab security reports, ZAP DAST reports, OpenSSF Scorecard
results and Checkmarx One JSON reports, each checked for the shape its tool writes.

- ``GITLAB_SECURITY_REPORT``: GitLab's report schema (``version``, ``vulnerabilities``,
  ``scan.type`` one of GitLab's scan types, ``scan.scanner`` or ``scan.analyzer``);
- ``ZAP_DAST_ZIP``: a zip archive holding ZAP's JSON report (``report_json.json``, whose
  ``@programName`` is ``ZAP``), read safely (:mod:`attestlake._internal.untrusted_archive`);
- ``OSSF_SCORECARD_JSON``: ``scorecard-cli``'s JSON result (``scorecard.version``,
  ``repo.name``, ``checks``, ``score``);
- ``CHECKMARX_JSON``: Checkmarx One's native report (``scanID``, ``totalCount``, ``results``,
  each result with a ``type`` and ``data``).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from attestlake._internal.untrusted_archive import MalformedArchive, read_zip
from attestlake.errors import MaterialError
from attestlake.evidence.documents import Parser, items, json_object, obj, text_or_none

#: GitLab's scan types (``scan.type``).
GITLAB_SCAN_TYPES = (
    *("sast", "dast", "api_fuzzing", "coverage_fuzzing", "secret_detection"),
    *("dependency_scanning", "container_scanning", "container_scanning_for_registry"),
    "cluster_image_scanning",
)
ZAP_REPORT = "report_json.json"


def _counts(values: list[Any], field: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for entry in values:
        key = text_or_none(obj(entry).get(field))
        if key is not None:
            out[key[:64]] = out.get(key[:64], 0) + 1
    return dict(sorted(out.items())[:50])


def gitlab_report(data: bytes, value: str) -> dict[str, Any]:
    kind = "GITLAB_SECURITY_REPORT"
    doc = json_object(data, value, kind, "a GitLab security report")
    scan = obj(doc.get("scan"))
    scan_type = scan.get("type")
    if not isinstance(doc.get("vulnerabilities"), list) or not isinstance(doc.get("version"), str):
        raise MaterialError(
            f"{value}: not a GitLab security report (needs 'version' and a 'vulnerabilities' list)"
        )
    if scan_type not in GITLAB_SCAN_TYPES:
        raise MaterialError(
            f"{value}: not a GitLab security report (scan.type {scan_type!r}, expected one of "
            f"{', '.join(GITLAB_SCAN_TYPES)})"
        )
    tool = obj(scan.get("scanner")) or obj(scan.get("analyzer"))
    return {
        "format": "GitLabSecurityReport",
        "schemaVersion": doc["version"][:32],
        "scanType": scan_type,
        "tool": text_or_none(tool.get("name")),
        "toolVersion": text_or_none(tool.get("version")),
        "status": text_or_none(scan.get("status")),
        "vulnerabilities": len(doc["vulnerabilities"]),
        "bySeverity": _counts(doc["vulnerabilities"], "severity"),
    }


def zap_report(data: bytes, value: str) -> dict[str, Any]:
    kind = "ZAP_DAST_ZIP"
    if data.lstrip()[:1] == b"{":
        raise MaterialError(
            f"{value}: a JSON file; {kind} is the zip archive ZAP writes, holding {ZAP_REPORT}"
        )
    try:
        archive = read_zip(
            data, lambda name: PurePosixPath(name).name == ZAP_REPORT, what=f"{value}: {kind}"
        )
    except MalformedArchive as exc:
        raise MaterialError(str(exc)) from None
    if not archive.files:
        raise MaterialError(f"{value}: the zip archive holds no ZAP report ({ZAP_REPORT})")
    name, raw = sorted(archive.files.items())[0]
    doc = json_object(raw, f"{value}!{name}", kind, "a ZAP JSON report")
    if doc.get("@programName") != "ZAP":
        raise MaterialError(f"{value}: {name} is not a ZAP report (@programName is not ZAP)")
    alerts = [a for site in items(doc.get("site")) for a in items(obj(site).get("alerts"))]
    return {
        "format": "ZAP",
        "version": text_or_none(doc.get("@version")),
        "generated": text_or_none(doc.get("@generated")),
        "sites": [str(obj(s).get("@name"))[:256] for s in items(doc.get("site"))][:50],
        "alerts": len(alerts),
        "byRisk": _counts(alerts, "riskdesc"),
        "files": len(archive.names),
    }


def scorecard(data: bytes, value: str) -> dict[str, Any]:
    kind = "OSSF_SCORECARD_JSON"
    doc = json_object(data, value, kind, "an OpenSSF Scorecard result")
    version = text_or_none(obj(doc.get("scorecard")).get("version"))
    checks = doc.get("checks")
    score = doc.get("score")
    if not version or not isinstance(checks, list):
        raise MaterialError(
            f"{value}: not an OpenSSF Scorecard result (needs scorecard.version and a "
            "'checks' list)"
        )
    if isinstance(score, bool) or not isinstance(score, int | float) or not -1 <= score <= 10:
        raise MaterialError(f"{value}: an OpenSSF Scorecard result's score is -1 to 10")
    return {
        "format": "OpenSSFScorecard",
        "scorecardVersion": version[:64],
        "repository": text_or_none(obj(doc.get("repo")).get("name")),
        "commit": text_or_none(obj(doc.get("repo")).get("commit")),
        "score": float(score),
        "checks": {
            str(obj(c).get("name"))[:64]: obj(c).get("score")
            for c in checks[:100]
            if isinstance(obj(c).get("score"), int)
        },
    }


def checkmarx(data: bytes, value: str) -> dict[str, Any]:
    kind = "CHECKMARX_JSON"
    doc = json_object(data, value, kind, "a Checkmarx One JSON report")
    total = doc.get("totalCount")
    results = doc.get("results")
    if not isinstance(doc.get("scanID"), str) or isinstance(total, bool):
        raise MaterialError(
            f"{value}: not a Checkmarx One JSON report (needs scanID, totalCount, results)"
        )
    if not isinstance(total, int) or not isinstance(results, list | type(None)):
        raise MaterialError(f"{value}: a Checkmarx report's totalCount is a number, results a list")
    for i, result in enumerate(results or []):
        if not isinstance(obj(result).get("type"), str) or "data" not in obj(result):
            raise MaterialError(f"{value}: Checkmarx result {i} has no type or data")
    return {
        "format": "Checkmarx",
        "scanId": doc["scanID"][:128],
        "totalCount": total,
        "byType": _counts(results or [], "type"),
        "bySeverity": _counts(results or [], "severity"),
    }


SCAN_FORMATS: dict[str, tuple[str, Parser]] = {
    "GITLAB_SECURITY_REPORT": ("application/json", gitlab_report),
    "ZAP_DAST_ZIP": ("application/zip", zap_report),
    "OSSF_SCORECARD_JSON": ("application/json", scorecard),
    "CHECKMARX_JSON": ("application/json", checkmarx),
}
