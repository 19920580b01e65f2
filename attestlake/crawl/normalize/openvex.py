"""OpenVEX documents (v0.2.0, and the v0.0.x shape before it) into ``vex_statements`` rows.

One row per statement and product it names (one row with ``product`` NULL for a statement
naming none): the vulnerability (its ``name``, or the v0.0.x string) and its aliases, the
product (its purl identifier, else its ``@id``), the status, the justification, the impact
statement, and when it was made (the statement's timestamp, else the document's). A status or
justification that OpenVEX does not define reads as NULL, the row's ``problem`` naming it: such
a statement clears nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from attestlake._internal.untrusted_json import loads
from attestlake.crawl.normalize.common import as_list, as_object, bounded, s, to_json, ts
from attestlake.errors import ContentError

STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)


def statements(data: bytes) -> Iterator[dict[str, Any]]:
    """The rows of an OpenVEX document; ContentError when it is not one."""
    doc = loads(data, max_bytes=len(data), what="OpenVEX document")
    if not isinstance(doc, dict) or "openvex" not in str(doc.get("@context", "")):
        raise ContentError("no OpenVEX @context")
    if not isinstance(doc.get("statements"), list):
        raise ContentError("no 'statements' list")
    return _statements(doc["statements"], ts(doc.get("timestamp")))


def _statements(found: list[Any], issued: datetime | None) -> Iterator[dict[str, Any]]:
    for statement in found:
        if not isinstance(statement, dict):
            continue
        common = _statement(statement, issued)
        named = False
        for product in map(_product, as_list(statement.get("products"))):
            if product is not None:
                named = True
                yield {**common, "product": product}
        if not named:
            yield {**common, "product": None}


def _vulnerability(value: Any) -> tuple[str | None, str | None]:
    """The vulnerability's name and its aliases (JSON list, NULL when none)."""
    if isinstance(value, str):
        return bounded(value.strip()) or None, None
    vulnerability = as_object(value)
    aliases = [bounded(a) for a in as_list(vulnerability.get("aliases")) if s(a)][:100]
    return bounded(s(vulnerability.get("name"))), to_json(aliases) if aliases else None


def _product(value: Any) -> str | None:
    if isinstance(value, str):
        return bounded(s(value))
    product = as_object(value)
    purl = s(as_object(product.get("identifiers")).get("purl"))
    return bounded(purl or s(product.get("@id")))


def _statement(statement: dict[str, Any], issued: datetime | None) -> dict[str, Any]:
    name, aliases = _vulnerability(statement.get("vulnerability"))
    status = statement.get("status")
    justification = statement.get("justification")
    problems = []
    if status is None:
        problems.append(f"no status (OpenVEX's: {', '.join(STATUSES)})")
    elif status not in STATUSES:
        problems.append(f"status {_shown(status)} is not one of OpenVEX's ({', '.join(STATUSES)})")
    if justification is not None and justification not in JUSTIFICATIONS:
        problems.append(f"justification {_shown(justification)} is not one of OpenVEX's")
    if name is None:
        problems.append("it names no vulnerability")
    return {
        "vulnerability_id": name,
        "aliases": aliases,
        "status": status if status in STATUSES else None,
        "justification": justification if justification in JUSTIFICATIONS else None,
        "impact_statement": bounded(statement.get("impact_statement")),
        "issued_at": ts(statement.get("timestamp")) or issued,
        "problem": "; ".join(problems) or None,
    }


def _shown(value: Any) -> str:
    """An untrusted value as a problem names it (bounded)."""
    if not isinstance(value, str):
        return f"of JSON type {type(value).__name__}"
    text = repr(value[:80])
    return text if len(value) <= 80 else text[:-1] + "…'"
