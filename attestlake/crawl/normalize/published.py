"""Contracts, inventories and policies published to a store, into the lake.

Each published revision (:mod:`attestlake.contracts.publish`) gets a ``published_documents`` row with
its exact file (YAML, or a policy's SQL), or the error that kept it from being read. A policy's
SQL is recorded as text, never run by the crawler (``attestlake policy eval`` and ``gate`` run
it). A contract's material requirements
go to ``contract_requirements`` (``published_at`` set), so the newest revision is known before
any run uses it; an inventory's workflows go to ``inventory`` — only when the revision is
trusted: read from a store the trust policy's ``declared_state`` names, with a declaration
(:mod:`attestlake.contracts.declaration`) that one of its signers signed for exactly this file,
kind, name and revision. Otherwise the ``published_documents`` row records it ``not_verified``
with the reason, and nothing of it is declared state. Never raises on bad content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from attestlake.contracts.contracts import parse_contract
from attestlake.contracts.declaration import mismatch
from attestlake.contracts.inventory import parse_inventory
from attestlake.crawl.normalize.common import Rows, ts
from attestlake.crawl.sources.interface import Published, Unit
from attestlake.errors import Error
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED, internal_error
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import verify_or_record

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
            "material_group": m.group,
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


def _policy_rows(unit: Unit, doc: Published, raw: bytes) -> list[dict[str, Any]]:
    """A policy has no rows of its own: its text is its ``published_documents`` row."""
    raw.decode("utf-8")
    return []


_TABLES = {"contract": "contract_requirements", "inventory": "inventory"}
_ROWS = {"contract": _contract_rows, "inventory": _inventory_rows, "policy": _policy_rows}


def _text(raw: bytes | None) -> str | None:
    try:
        return raw.decode("utf-8") if raw is not None else None
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class Declared:
    """The verdict on a published revision's declaration."""

    status: str
    reason: str | None = None
    detail: str | None = None
    signer: str | None = None
    key_id: str | None = None


def _store_of(source: str) -> str:
    return source.rpartition(":")[0]


def declared(unit: Unit, doc: Published, policy: TrustPolicy, seen: datetime) -> Declared:
    """Whether the trust policy makes ``doc`` SecOps's declared state (see the module doc)."""
    ds = policy.declared
    if ds is None:
        return Declared(
            NOT_VERIFIED,
            "no_trust_material",
            "the trust policy has no declared_state: no published contract, inventory or policy "
            "is trusted",
        )
    if not ds.trusts_store(_store_of(unit.source)):
        return Declared(
            NOT_VERIFIED,
            "untrusted_store",
            f"published in {_store_of(unit.source)}, a store the trust policy's declared_state "
            "does not name",
        )
    if doc.declaration is None:
        return Declared(
            NOT_VERIFIED,
            "no_trust_material",
            "unsigned: published without a signed declaration (attestlake contract/inventory/"
            "policy push --key or --keyless)",
        )
    outcome = verify_or_record(doc.declaration, policy.declarations, seen)
    who = {"signer": outcome.signer, "key_id": outcome.key_id}
    if not outcome.verified:
        return Declared(NOT_VERIFIED, outcome.reason, outcome.detail, **who)
    wrong = mismatch(outcome.statement, doc.kind, doc.name, doc.revision, doc.digest)
    if wrong is not None:
        return Declared(NOT_VERIFIED, "bad_signature", wrong, **who)
    return Declared(VERIFIED, **who)


def published_rows(unit: Unit, policy: TrustPolicy, seen: datetime) -> Rows:
    """The rows of one published contract, inventory or policy revision, read at ``seen``."""
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
    verdict = (
        declared(unit, doc, policy, seen)
        if error is None
        else Declared(NOT_VERIFIED, "malformed", error)
    )
    if verdict.status != VERIFIED:
        rows = Rows()  # nothing of it is declared state
    rows.add(
        "published_documents",
        {
            "status": verdict.status,
            "reason": verdict.reason,
            "detail": verdict.detail,
            "signer": verdict.signer,
            "key_id": verdict.key_id,
            "policy_digest": policy.digest,
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
