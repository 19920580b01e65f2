"""Contracts and inventories published to a store, into the lake.

Each published revision (:mod:`attestlake.contracts.publish`) gets a ``published_documents`` row with
its exact YAML, or the error that kept it from being read. A contract's material requirements
go to ``contract_requirements`` (``published_at`` set), so the newest revision is known before
any run uses it; an inventory's workflows go to ``inventory``. These documents are not signed:
they are SecOps's declared state as the store holds it (see the security model in
docs/lake.md). Never raises on bad content.
"""

from __future__ import annotations

from typing import Any

from attestlake.contracts.contracts import parse_contract
from attestlake.contracts.inventory import parse_inventory
from attestlake.crawl.normalize.common import Rows, ts
from attestlake.crawl.sources.interface import Published, Unit
from attestlake.errors import Error
from attestlake.verify.outcome import internal_error

SECONDS_PER_HOUR = 3600


def _contract_rows(unit: Unit, doc: Published, raw: bytes) -> list[dict[str, Any]]:
    contract = parse_contract(raw, source=unit.source)
    return [
        {
            "contract_name": doc.name,
            "contract_revision": doc.revision,
            "contract_digest": doc.digest,
            "material_name": m.name,
            "material_type": m.kind,
            "optional": m.optional,
            "output": m.output,
            "manifest_digest": unit.key,
            "source": unit.source,
            "published_at": ts(doc.created),
        }
        for m in contract.materials
    ]


def _inventory_rows(unit: Unit, doc: Published, raw: bytes) -> list[dict[str, Any]]:
    inventory = parse_inventory(raw, source=unit.source)
    return [
        {
            "inventory_name": doc.name,
            "revision": doc.revision,
            "digest": doc.digest,
            "published_at": ts(doc.created),
            "workflow": w.workflow,
            "project": w.project,
            "team": w.team,
            "owner": w.owner,
            "contract": w.contract,
            "cadence": w.cadence,
            "cadence_hours": None
            if w.cadence_seconds is None
            else w.cadence_seconds // SECONDS_PER_HOUR,
            "manifest_digest": unit.key,
            "source": unit.source,
        }
        for w in inventory.workflows
    ]


_TABLES = {"contract": "contract_requirements", "inventory": "inventory"}
_ROWS = {"contract": _contract_rows, "inventory": _inventory_rows}


def _text(raw: bytes | None) -> str | None:
    try:
        return raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        return None


def published_rows(unit: Unit) -> Rows:
    """The rows of one published contract or inventory revision."""
    rows = Rows()
    doc = unit.published
    if doc is None:
        return rows
    error, content = doc.error, None
    if error is None and doc.created and ts(doc.created) is None:
        error = (
            f"its org.opencontainers.image.created annotation {doc.created[:64]!r} is not an "
            "RFC 3339 time in years 1-9999 UTC; publish the revision again"
        )
        content = _text(doc.raw)
    elif doc.raw is not None:
        try:
            content = doc.raw.decode("utf-8")
            for row in _ROWS[doc.kind](unit, doc, doc.raw):
                rows.add(_TABLES[doc.kind], row)
        except (Error, UnicodeDecodeError) as exc:  # published by hand, bypassing the lint
            rows, error = Rows(), str(exc)
        except Exception as exc:  # a parser bug must not stop the crawl: it is recorded
            rows, error = Rows(), internal_error("the published-document reader", exc)
    rows.add(
        "published_documents",
        {
            "kind": doc.kind,
            "name": doc.name or None,
            "revision": doc.revision or None,
            "digest": doc.digest or None,
            "published_at": ts(doc.created),
            "content": content,
            "error": error,
            "manifest_digest": unit.key,
            "source": unit.source,
        },
    )
    return rows
