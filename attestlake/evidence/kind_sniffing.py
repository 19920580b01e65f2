"""Telling the kind of a report from its first bytes, for ``attest add`` without ``--name``:
the JSON documents, XML reports and archives of the kinds whose tools mark them clearly.

A guess only picks the contract's material to fill: the file is then read by the kind's own
parser, which refuses it if the guess was wrong. What these do not recognise (YAML API
specifications, typed evidence) is added with ``--name`` or ``--kind``.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from pathlib import PurePosixPath
from typing import Any

from attestlake.evidence.advisories import CSAF_CATEGORIES
from attestlake.evidence.documents import obj
from attestlake.evidence.scan_reports import ZAP_REPORT

#: Bytes of an archive read to tell its kind.
_HEAD = 1024 * 1024
_CSAF_KINDS = {category: kind for kind, category in CSAF_CATEGORIES.items()}


def json_kind(doc: Any) -> str | None:
    """The kind of a JSON document by the fields its tool always writes, or None."""
    if isinstance(doc, list):
        first = obj(doc[0]) if doc else {}
        return "GITLEAKS_JSON" if {"RuleID", "Fingerprint"} <= set(first) else None
    if not isinstance(doc, dict):
        return None
    document = obj(doc.get("document"))
    if "csaf_version" in document:
        return _CSAF_KINDS.get(str(document.get("category")))
    if isinstance(doc.get("vulnerabilities"), list) and "type" in obj(doc.get("scan")):
        return "GITLAB_SECURITY_REPORT"
    if "version" in obj(doc.get("scorecard")) and isinstance(doc.get("checks"), list):
        return "OSSF_SCORECARD_JSON"
    if "scanID" in doc and "totalCount" in doc:
        return "CHECKMARX_JSON"
    if "plugins_used" in doc and isinstance(doc.get("results"), dict):
        return "YELP_DETECT_SECRETS_BASELINE"
    if "openapi" in doc or "swagger" in doc:
        return "OPENAPI_SPEC"
    if "asyncapi" in doc:
        return "ASYNCAPI_SPEC"
    return None


def xml_kind(data: bytes) -> str | None:
    """JaCoCo or Cobertura, by their document type or root element."""
    head = data[:4096]
    if b"//JACOCO//DTD" in head or (b"<report " in head and b"<sessioninfo" in head):
        return "JACOCO_XML"
    if b"<coverage " in head and b"line-rate=" in head:
        return "COBERTURA_XML"
    return None


def archive_kind(data: bytes) -> str | None:
    """A Helm chart (a .tgz whose first member is ``CHART/Chart.yaml``, as ``helm package``
    writes it) or a ZAP report zip (naming ``report_json.json``), read no further than that."""
    if data.startswith(b"\x1f\x8b"):
        try:  # a stream read of the first header (pax and GNU headers skipped), no further
            with tarfile.open(fileobj=io.BytesIO(data[:_HEAD]), mode="r|gz") as tar:
                first = tar.next()
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            return None
        parts = PurePosixPath(first.name).parts if first is not None else ()
        return "HELM_CHART" if len(parts) == 2 and parts[1] == "Chart.yaml" else None
    if data.startswith(b"PK\x03\x04") and ZAP_REPORT.encode() in data:
        return "ZAP_DAST_ZIP"
    return None
