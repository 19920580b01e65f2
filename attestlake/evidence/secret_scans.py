"""Secret scanners' reports: Gitleaks, TruffleHog and Yelp's detect-secrets baseline.

The attestation records how many findings a report holds and by which rule or detector, never
a finding's text: a secret scanner's report quotes the secrets it found (Gitleaks' ``Secret``
and ``Match``, TruffleHog's ``Raw``) unless it was run with redaction, and the file itself is
pushed as it is: redact it before adding it (``gitleaks --redact``).

- ``GITLEAKS_JSON``: ``gitleaks --report-format json``: an array of findings, each with a
  ``RuleID`` and a ``Fingerprint`` (an empty array is a clean scan);
- ``TRUFFLEHOG_JSON``: ``trufflehog --json``: one JSON finding per line (or a JSON array),
  each with ``DetectorName`` and ``SourceMetadata`` (an empty file is a clean scan);
- ``YELP_DETECT_SECRETS_BASELINE``: ``detect-secrets scan``'s baseline: ``version``,
  ``plugins_used`` and ``results`` (file name -> the secrets found in it).
"""

from __future__ import annotations

from typing import Any

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import MaterialError
from attestlake.evidence.documents import Parser, json_document, json_object, obj, text_or_none


def _tally(findings: list[dict[str, Any]], field: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for finding in findings:
        key = (text_or_none(finding.get(field)) or "?")[:64]
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items())[:50])


def gitleaks(data: bytes, value: str) -> dict[str, Any]:
    doc = json_document(data, value, "GITLEAKS_JSON")
    if not isinstance(doc, list):
        raise MaterialError(f"{value}: not a Gitleaks JSON report (an array of findings)")
    for i, finding in enumerate(doc):
        if not isinstance(finding, dict) or not {"RuleID", "Fingerprint"} <= set(finding):
            raise MaterialError(f"{value}: Gitleaks finding {i} has no RuleID or Fingerprint")
    return {"format": "Gitleaks", "findings": len(doc), "byRule": _tally(doc, "RuleID")}


def _trufflehog_findings(data: bytes, value: str) -> list[Any]:
    if data.lstrip()[:1] == b"[":
        doc = json_document(data, value, "TRUFFLEHOG_JSON")
        return list(doc)
    findings = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            findings.append(loads(line, max_bytes=len(line), what=f"{value}: line {number}"))
        except MalformedJSON as exc:
            raise MaterialError(
                f"{exc}; a TRUFFLEHOG_JSON report is one JSON finding per line"
            ) from None
    return findings


def trufflehog(data: bytes, value: str) -> dict[str, Any]:
    findings = _trufflehog_findings(data, value)
    for i, finding in enumerate(findings):
        if not isinstance(finding, dict) or not isinstance(finding.get("DetectorName"), str):
            raise MaterialError(f"{value}: TruffleHog finding {i + 1} has no DetectorName")
        if not isinstance(finding.get("SourceMetadata"), dict):
            raise MaterialError(f"{value}: TruffleHog finding {i + 1} has no SourceMetadata")
    return {
        "format": "TruffleHog",
        "findings": len(findings),
        "verified": sum(1 for f in findings if f.get("Verified") is True),
        "byDetector": _tally(findings, "DetectorName"),
    }


def detect_secrets(data: bytes, value: str) -> dict[str, Any]:
    kind = "YELP_DETECT_SECRETS_BASELINE"
    doc = json_object(data, value, kind, "a detect-secrets baseline")
    results, plugins = doc.get("results"), doc.get("plugins_used")
    if not isinstance(doc.get("version"), str) or not isinstance(results, dict):
        raise MaterialError(
            f"{value}: not a detect-secrets baseline (needs version, plugins_used, results)"
        )
    if not isinstance(plugins, list):
        raise MaterialError(f"{value}: a detect-secrets baseline's plugins_used is a list")
    secrets = [s for found in results.values() if isinstance(found, list) for s in found]
    return {
        "format": "DetectSecrets",
        "version": doc["version"][:32],
        "plugins": len(plugins),
        "files": len(results),
        "findings": len(secrets),
        "byType": _tally([obj(s) for s in secrets], "type"),
    }


SECRET_SCAN_FORMATS: dict[str, tuple[str, Parser]] = {
    "GITLEAKS_JSON": ("application/json", gitleaks),
    "TRUFFLEHOG_JSON": ("application/x-ndjson", trufflehog),
    "YELP_DETECT_SECRETS_BASELINE": ("application/json", detect_secrets),
}
