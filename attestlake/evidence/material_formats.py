"""File formats of the material kinds: each parser checks that a file is what its kind claims
and returns the details the attestation records (SBOM spec version, main component and
component count; SARIF tool and result counts; JUnit tests and failures; ...).

This module holds the SBOM, SARIF, OpenVEX, JUnit and signed-statement formats and
:data:`FILE_FORMATS`, every file kind (Chainloop's material types) with its media type and
parser: the others are in :mod:`~attestlake.evidence.advisories` (CSAF),
:mod:`~attestlake.evidence.scan_reports`, :mod:`~attestlake.evidence.secret_scans`,
:mod:`~attestlake.evidence.coverage_reports`, :mod:`~attestlake.evidence.api_specs`,
:mod:`~attestlake.evidence.helm_charts` and :mod:`~attestlake.evidence.typed_evidence`.

:func:`sniff` guesses the kind of a file from its content, for ``attest add`` without a name.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake._internal.untrusted_xml import MalformedXML
from attestlake._internal.untrusted_xml import parse as parse_xml
from attestlake.errors import MaterialError
from attestlake.evidence.advisories import ADVISORY_FORMATS
from attestlake.evidence.api_specs import API_SPEC_FORMATS
from attestlake.evidence.coverage_reports import COVERAGE_FORMATS
from attestlake.evidence.documents import Parser
from attestlake.evidence.documents import json_document as _json
from attestlake.evidence.documents import obj as _obj
from attestlake.evidence.helm_charts import HELM_FORMATS
from attestlake.evidence.kind_sniffing import archive_kind, json_kind, xml_kind
from attestlake.evidence.scan_reports import SCAN_FORMATS
from attestlake.evidence.secret_scans import SECRET_SCAN_FORMATS
from attestlake.evidence.typed_evidence import TYPED_EVIDENCE_FORMATS


def cyclonedx(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "SBOM_CYCLONEDX_JSON")
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        hint = (
            " (it looks like SPDX: use SBOM_SPDX_JSON)"
            if isinstance(doc, dict) and "spdxVersion" in doc
            else ""
        )
        raise MaterialError(f"{value}: not a CycloneDX JSON SBOM (no bomFormat: CycloneDX){hint}")
    components = doc.get("components") or []
    if not isinstance(components, list):
        raise MaterialError(f"{value}: CycloneDX 'components' must be a list")
    main = _obj(_obj(doc.get("metadata")).get("component"))
    hashes = {
        h.get("alg"): h.get("content") for h in main.get("hashes") or [] if isinstance(h, dict)
    }
    return {
        "format": "CycloneDX",
        "specVersion": str(doc.get("specVersion", "")),
        "components": len(components),
        "mainComponent": {
            "name": main.get("name"),
            "version": main.get("version"),
            "purl": main.get("purl"),
            "sha256": hashes.get("SHA-256"),
        },
    }


def spdx(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "SBOM_SPDX_JSON")
    if not isinstance(doc, dict) or not str(doc.get("spdxVersion", "")).startswith("SPDX-"):
        hint = (
            " (it looks like CycloneDX: use SBOM_CYCLONEDX_JSON)"
            if isinstance(doc, dict) and doc.get("bomFormat")
            else ""
        )
        raise MaterialError(f"{value}: not an SPDX JSON SBOM (no spdxVersion){hint}")
    packages = doc.get("packages") or []
    packages = [p for p in packages if isinstance(p, dict)] if isinstance(packages, list) else []
    described = doc.get("documentDescribes") or []
    main = next((p for p in packages if described and p.get("SPDXID") == described[0]), None)
    purl = next(
        (
            r.get("referenceLocator")
            for r in (main or {}).get("externalRefs") or []
            if isinstance(r, dict) and r.get("referenceType") == "purl"
        ),
        None,
    )
    return {
        "format": "SPDX",
        "specVersion": doc["spdxVersion"],
        "components": len(packages),
        "mainComponent": {
            "name": (main or {}).get("name") or doc.get("name"),
            "version": (main or {}).get("versionInfo"),
            "purl": purl,
            "sha256": None,
        },
    }


def sarif(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "SARIF")
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise MaterialError(f"{value}: not a SARIF log (no 'runs' list)")
    tools: list[str] = []
    levels: dict[str, int] = {}
    for run in doc["runs"]:
        driver = _obj(_obj(_obj(run).get("tool")).get("driver"))
        if isinstance(driver.get("name"), str) and driver["name"] not in tools:
            tools.append(driver["name"])
        results = _obj(run).get("results") or []
        for result in results if isinstance(results, list) else []:
            level = _obj(result).get("level")
            level = level if level in ("error", "warning", "note", "none") else "warning"
            levels[level] = levels.get(level, 0) + 1
    return {
        "format": "SARIF",
        "version": str(doc.get("version", "")),
        "runs": len(doc["runs"]),
        "tool": ", ".join(tools) or None,
        "results": sum(levels.values()),
        "resultsByLevel": dict(sorted(levels.items())),
    }


def openvex(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "OPENVEX")
    if not isinstance(doc, dict) or "openvex" not in str(doc.get("@context", "")):
        raise MaterialError(f"{value}: not an OpenVEX document (no openvex @context)")
    statements = doc.get("statements") or []
    statements = statements if isinstance(statements, list) else []
    statuses: dict[str, int] = {}
    for st in statements:
        status = _obj(st).get("status")
        if isinstance(status, str):
            statuses[status] = statuses.get(status, 0) + 1
    return {
        "format": "OpenVEX",
        "statements": len(statements),
        "author": doc["author"] if isinstance(doc.get("author"), str) else None,
        "statuses": dict(sorted(statuses.items())),
    }


def signed_statement(data: bytes, value: str, kind: str = "SLSA_PROVENANCE") -> dict[str, Any]:
    """A DSSE envelope or a Sigstore bundle (SLSA provenance given as evidence)."""
    doc = _json(data, value, kind)
    if not isinstance(doc, dict) or not ("payloadType" in doc or "mediaType" in doc):
        raise MaterialError(f"{value}: not a DSSE envelope or Sigstore bundle")
    details: dict[str, Any] = {"format": "DSSE" if "payloadType" in doc else "SigstoreBundle"}
    if isinstance(doc.get("mediaType"), str):
        details["bundleMediaType"] = doc["mediaType"]
    envelope = doc if "payloadType" in doc else _obj(doc.get("dsseEnvelope"))
    payload = envelope.get("payload")
    if isinstance(payload, str) and payload:
        try:
            decoded = base64.b64decode(payload, validate=True)
            stmt = loads(decoded, max_bytes=len(decoded), what="payload")
        except (MalformedJSON, binascii.Error, ValueError):
            stmt = None
        if isinstance(stmt, dict) and isinstance(stmt.get("predicateType"), str):
            details["predicateType"] = stmt["predicateType"]
            subjects = stmt.get("subject")
            details["subjects"] = len(subjects) if isinstance(subjects, list) else 0
    return details


def junit(data: bytes, value: str) -> dict[str, Any]:
    head = data[:4096].lstrip()
    if not head.startswith(b"<") or b"<!DOCTYPE" in data[:65536].upper():
        raise MaterialError(
            f"{value}: not a JUnit XML file (or it has a DOCTYPE, which is refused)"
        )
    if b"<testsuite" not in data:
        raise MaterialError(f"{value}: not a JUnit XML file (no <testsuite>)")
    try:
        # A DOCTYPE anywhere (after a long comment too) is refused: no entity, nothing fetched.
        root = parse_xml(data, what=f"{value}: JUnit XML")
    except MalformedXML as exc:
        raise MaterialError(str(exc)) from None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    if not suites:
        raise MaterialError(f"{value}: not a JUnit XML file (no <testsuite>)")
    leaves = [s for s in suites if s.find("testsuite") is None]  # nested suites: the innermost
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in leaves:
        cases = suite.findall("testcase")
        counted = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        for key in totals:
            attr = (suite.get(key) or "").strip()
            totals[key] += int(attr) if attr.isdigit() else counted[key]
    return {"format": "JUnit", "suites": len(leaves), **totals}


def attestation(data: bytes, value: str) -> dict[str, Any]:
    """Another workflow's attestation: a DSSE envelope or Sigstore bundle of an in-toto
    statement."""
    details = signed_statement(data, value, "ATTESTATION")
    if "predicateType" not in details:
        raise MaterialError(
            f"{value}: an ATTESTATION is a DSSE envelope or Sigstore bundle of an in-toto "
            "statement; its payload is not one"
        )
    return details


#: kind -> (media type of the pushed blob, parser): every file kind.
FILE_FORMATS: dict[str, tuple[str, Parser]] = {
    **TYPED_EVIDENCE_FORMATS,
    "SBOM_CYCLONEDX_JSON": ("application/vnd.cyclonedx+json", cyclonedx),
    "SBOM_SPDX_JSON": ("application/spdx+json", spdx),
    "SARIF": ("application/sarif+json", sarif),
    "OPENVEX": ("application/openvex+json", openvex),
    "SLSA_PROVENANCE": ("application/vnd.dsse.envelope.v1+json", signed_statement),
    "JUNIT_XML": ("application/xml", junit),
    "ATTESTATION": ("application/vnd.dsse.envelope.v1+json", attestation),
    **ADVISORY_FORMATS,
    **SCAN_FORMATS,
    **SECRET_SCAN_FORMATS,
    **COVERAGE_FORMATS,
    **API_SPEC_FORMATS,
    **HELM_FORMATS,
}


def sniff(data: bytes) -> str:
    """The kind a file's content looks like; ``EVIDENCE`` for a signed non-provenance
    statement, ``ARTIFACT`` when nothing else fits (:mod:`~attestlake.evidence.kind_sniffing`
    tells the reports of the other kinds)."""
    start = data[:4096].lstrip()
    if start.startswith(b"<"):
        return "JUNIT_XML" if b"<testsuite" in data else xml_kind(data) or "ARTIFACT"
    if not start.startswith((b"{", b"[")):
        return archive_kind(data) or "ARTIFACT"
    try:
        doc = loads(data, max_bytes=len(data))
    except MalformedJSON:
        return "ARTIFACT"
    if not isinstance(doc, dict):
        return json_kind(doc) or "ARTIFACT"
    if doc.get("bomFormat") == "CycloneDX":
        return "SBOM_CYCLONEDX_JSON"
    if str(doc.get("spdxVersion", "")).startswith("SPDX-"):
        return "SBOM_SPDX_JSON"
    if "openvex" in str(doc.get("@context", "")):
        return "OPENVEX"
    if isinstance(doc.get("runs"), list) and (
        "sarif" in str(doc.get("$schema", "")).lower() or str(doc.get("version")) == "2.1.0"
    ):
        return "SARIF"
    if "payloadType" in doc or str(doc.get("mediaType", "")).startswith(
        "application/vnd.dev.sigstore.bundle"
    ):
        predicate = str(signed_statement(data, "").get("predicateType", ""))
        return "SLSA_PROVENANCE" if "slsa.dev/provenance" in predicate else "EVIDENCE"
    return json_kind(doc) or "ARTIFACT"
