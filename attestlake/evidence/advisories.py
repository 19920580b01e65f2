"""CSAF documents (OASIS Common Security Advisory Framework 2.0 and 2.1): one material kind
per CSAF profile, each refusing a document of another profile.

A CSAF document is JSON with ``document.csaf_version``, ``document.category`` (the profile:
``csaf_vex``, ``csaf_security_advisory``, ...), ``document.title``, ``document.publisher`` and
``document.tracking`` (id, status, version). The attestation records the profile, the
tracking id and version, the publisher and how many vulnerabilities and products it names.
"""

from __future__ import annotations

from typing import Any

from attestlake.errors import MaterialError
from attestlake.evidence.documents import Parser, items, json_object, obj, text_or_none

#: kind -> the ``document.category`` of its CSAF profile
CSAF_CATEGORIES = {
    "CSAF_VEX": "csaf_vex",
    "CSAF_SECURITY_ADVISORY": "csaf_security_advisory",
    "CSAF_INFORMATIONAL_ADVISORY": "csaf_informational_advisory",
    "CSAF_SECURITY_INCIDENT_RESPONSE": "csaf_security_incident_response",
}
_VERSIONS = ("2.0", "2.1")
CSAF_MEDIA_TYPE = "application/csaf+json"


def _kind_of(category: str) -> str | None:
    return next((k for k, c in CSAF_CATEGORIES.items() if c == category), None)


def _csaf(data: bytes, value: str, kind: str) -> dict[str, Any]:
    doc = json_object(data, value, kind, "a CSAF document")
    document = doc.get("document")
    if not isinstance(document, dict):
        raise MaterialError(f"{value}: not a CSAF document (no 'document' object)")
    version = document.get("csaf_version")
    if version not in _VERSIONS:
        raise MaterialError(
            f"{value}: not a CSAF document (csaf_version {version!r}, expected "
            f"{' or '.join(_VERSIONS)})"
        )
    category = document.get("category")
    wanted = CSAF_CATEGORIES[kind]
    if category != wanted:
        other = _kind_of(str(category))
        hint = f" (use {other})" if other else ""
        raise MaterialError(
            f"{value}: a CSAF document of category {category!r}, not {wanted!r} as "
            f"{kind} requires{hint}"
        )
    tracking = obj(document.get("tracking"))
    if not isinstance(document.get("title"), str) or not text_or_none(tracking.get("id")):
        raise MaterialError(f"{value}: a CSAF document needs document.title and tracking.id")
    return _details(doc, document, tracking, category)


def _details(
    doc: dict[str, Any], document: dict[str, Any], tracking: dict[str, Any], category: str
) -> dict[str, Any]:
    publisher = obj(document.get("publisher"))
    vulnerabilities = items(doc.get("vulnerabilities"))
    return {
        "format": "CSAF",
        "csafVersion": document["csaf_version"],
        "category": category,
        "title": document["title"][:512],
        "trackingId": str(tracking["id"])[:256],
        "trackingVersion": text_or_none(tracking.get("version")),
        "trackingStatus": text_or_none(tracking.get("status")),
        "publisher": text_or_none(publisher.get("name")),
        "vulnerabilities": len(vulnerabilities),
        "cves": sorted(
            {str(v["cve"]) for v in vulnerabilities if isinstance(v, dict) and v.get("cve")}
        )[:100],
        "products": _products(obj(doc.get("product_tree"))),
    }


def _products(tree: dict[str, Any]) -> int:
    """How many products the product tree names: its full product names and the products at
    the leaves of its branches."""
    count = len(items(tree.get("full_product_names")))
    stack = list(items(tree.get("branches")))
    while stack:
        branch = obj(stack.pop())
        count += isinstance(branch.get("product"), dict)
        stack.extend(items(branch.get("branches")))
    return count


def csaf_parser(kind: str) -> Parser:
    """The parser of one CSAF profile's kind."""

    def parse(data: bytes, value: str) -> dict[str, Any]:
        return _csaf(data, value, kind)

    return parse


ADVISORY_FORMATS = {kind: (CSAF_MEDIA_TYPE, csaf_parser(kind)) for kind in CSAF_CATEGORIES}
