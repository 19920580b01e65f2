"""Crawl units as the lake keeps them: :class:`~attestlake.crawl.sources.Unit` s to ``blobs``
rows and back.

A crawl writes every unit it reads to ``blobs`` (:mod:`attestlake.lake.kept_tables`): one row
per document, evidence blob or published file, with the unit's key, source and the time the
lake first saw it, in the order the crawl read them (``seen_at``, ``crawl_batch``,
``unit_index``, ``part``). :func:`units_from_rows` turns those rows back into the same units,
so a re-evaluation reads exactly what the crawl read, in the same order; bytes that no longer
hash to their digest (the table was altered) are read as unreadable, never as what they claim,
and rows that name no unit, source or known role make the table damaged (:func:`blobs_damage`).

A signed document whose statement the batch's ``attestations`` row holds (its exact bytes, as
text) is kept without it (:mod:`attestlake.crawl.cut_statement`): the rows read back carry the
statement the lake holds for that document (``kept_statement``), and the document is made
again with it only when its bytes hash to its digest; otherwise (``attestations.statement``
changed, or the row gone) it is read as unreadable, as altered bytes are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from attestlake.crawl.cut_statement import cut, put_back
from attestlake.crawl.sources.interface import Document, Published, Unit
from attestlake.lake.kept_tables import (
    BLOBS,
    DECLARATION,
    DOCUMENT,
    EVIDENCE,
    PUBLISHED,
    ROLES,
    UNIT_ERROR,
)
from attestlake.store import sha256_digest

if TYPE_CHECKING:
    from attestlake.lake.object_store import LakeRoot

__all__ = ["Statements", "blob_rows", "blobs_damage", "statements_of", "units_from_rows"]

#: The statements of a batch's signed documents, by (unit key, document digest): the text of
#: each ``attestations`` row of a format :func:`_cuttable` accepts.
Statements = Mapping[tuple[str, str], str]


def _cuttable(fmt: str | None) -> bool:
    """Whether a document of format ``fmt`` may be kept without its statement: a DSSE
    envelope or a Sigstore bundle, whose statement is read from its bytes whatever the trust
    policy (a re-evaluation writes its ``attestations`` row again)."""
    return fmt == "dsse" or (fmt or "").startswith("sigstore-bundle-")


def statements_of(attestations: Iterable[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """:data:`Statements` from ``attestations`` rows."""
    return {
        (row["manifest_digest"], row["envelope_digest"]): row["statement"]
        for row in attestations
        if row["statement"] is not None and _cuttable(row["format"])
    }


def _document_row(doc: Document, statement: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "role": DOCUMENT,
        "digest": doc.digest,
        "content": doc.raw,
        "error": doc.error,
    }
    if doc.raw is not None and statement is not None:
        rest = cut(doc.raw, statement)
        if rest is not None:
            row["content"], row["statement_at"] = rest
    return row


def _unit_rows(
    unit: Unit, index: int, seen: datetime, statements: Statements
) -> Iterator[dict[str, Any]]:
    base = {
        "manifest_digest": unit.key,
        "source": unit.source,
        "seen_at": unit.seen_at or seen,
        "unit_index": index,
    }
    parts: list[dict[str, Any]] = []
    if unit.error is not None:
        parts.append({"role": UNIT_ERROR, "digest": unit.key, "error": unit.error})
    for doc in unit.documents:
        parts.append(_document_row(doc, statements.get((unit.key, doc.digest))))
    for digest, raw in unit.evidence.items():
        parts.append({"role": EVIDENCE, "digest": digest, "content": raw})
    if unit.published is not None:
        pub = unit.published
        parts.append(
            {
                "role": PUBLISHED,
                "digest": pub.digest,
                "content": pub.raw,
                "error": pub.error,
                "kind": pub.kind,
                "name": pub.name,
                "revision": pub.revision,
                "created": pub.created,
            }
        )
        if pub.declaration is not None:
            parts.append(
                {
                    "role": DECLARATION,
                    "digest": sha256_digest(pub.declaration),
                    "content": pub.declaration,
                }
            )
    for part, values in enumerate(parts):
        yield {**base, "part": part, **values}


def blob_rows(
    units: Sequence[Unit], seen: datetime, statements: Statements | None = None
) -> pa.Table | None:
    """The ``blobs`` rows of a batch's units (a unit with nothing in it has none); ``seen``:
    when the crawl read them (a unit read again from the lake keeps its own); ``statements``:
    those the batch's ``attestations`` rows hold, cut from their documents."""
    said = statements or {}
    rows = [row for i, unit in enumerate(units) for row in _unit_rows(unit, i, seen, said)]
    if not rows:
        return None
    columns = {name: [r.get(name) for r in rows] for name in BLOBS.schema.names}
    return pa.Table.from_pydict(columns, schema=BLOBS.schema)


#: What a kept part whose bytes no longer match their digest is recorded as.
ALTERED = (
    "the bytes the lake kept no longer match their digest: the lake's blobs table was altered "
    "after the crawl (restore the lake, or crawl the stores into a new lake directory)"
)


#: What a document kept without its statement is recorded as when no statement the lake holds
#: for it makes its bytes again.
ALTERED_STATEMENT = (
    "the bytes the lake kept no longer match their digest: the statement the lake's "
    "attestations table holds for this document (which its kept bytes need) was altered or "
    "removed after the crawl (restore the lake, or crawl the stores into a new lake directory)"
)


def _intact(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as kept (its document made again when its statement was cut from it), or with
    its content dropped and the error :data:`ALTERED` (:data:`ALTERED_STATEMENT`) when its
    bytes do not hash to its digest: a re-evaluation never trusts bytes the crawl did not
    read."""
    content, at = row["content"], row.get("statement_at")
    if content is not None and at is not None and row["role"] == DOCUMENT:
        whole = put_back(content, at, row.get("kept_statement"), row["digest"])
        if whole is None:
            return {**row, "content": None, "error": ALTERED_STATEMENT}
        return {**row, "content": whole}
    if content is None or row["role"] == UNIT_ERROR or sha256_digest(content) == row["digest"]:
        return row
    return {**row, "content": None, "error": ALTERED}


def _unit(rows: list[dict[str, Any]], restored: Counter[str]) -> Unit:
    kept = rows
    rows = [_intact(row) for row in rows]
    restored["documents"] += sum(
        1
        for was, now in zip(kept, rows, strict=True)
        if was.get("statement_at") is not None and now["content"] is not None
    )
    first = rows[0]
    documents: list[Document] = []
    evidence: dict[str, bytes] = {}
    error: str | None = None
    published: Published | None = None
    declaration: bytes | None = None
    for row in rows:
        role = row["role"]
        if role == DOCUMENT:
            documents.append(Document(row["digest"], row["content"], row["error"]))
        elif role == EVIDENCE and row["content"] is not None:
            evidence[row["digest"]] = row["content"]
        elif role == UNIT_ERROR:
            error = row["error"]
        elif role == PUBLISHED:
            published = Published(
                row["kind"],
                row["name"],
                row["revision"],
                row["digest"],
                row["created"],
                row["content"],
                row["error"],
            )
        elif role == DECLARATION:
            declaration = row["content"]
    if published is not None and declaration is not None:
        published = replace(published, declaration=declaration)
    return Unit(
        key=first["manifest_digest"],
        source=first["source"],
        documents=tuple(documents),
        evidence=evidence,
        error=error,
        published=published,
        seen_at=first["seen_at"],
    )


def units_from_rows(
    rows: Iterable[dict[str, Any]], restored: Counter[str] | None = None
) -> Iterator[Unit]:
    """The units that ``rows`` (``blobs`` rows in the order a crawl wrote them) hold;
    ``restored["documents"]`` counts the documents made again with their statement."""
    count: Counter[str] = Counter() if restored is None else restored
    current: list[dict[str, Any]] = []
    for row in rows:
        if current and row["manifest_digest"] != current[0]["manifest_digest"]:
            yield _unit(current, count)
            current = []
        current.append(row)
    if current:
        yield _unit(current, count)


def blobs_damage(root: LakeRoot) -> str | None:
    """Why the ``blobs`` rows of the lake at ``root`` cannot be read back as the units a crawl
    read (a row that names no crawl unit, no source or no known role: the table was altered),
    or None."""
    from attestlake.lake.delta import guarded, is_table, open_table  # not in crawl workers
    from attestlake.lake.scan import column_slices

    if not is_table(root, BLOBS):
        return None
    columns = {"manifest_digest": pa.string(), "source": pa.string(), "role": pa.string()}
    snapshot = guarded(root, BLOBS, "read", lambda: open_table(root, BLOBS).to_pyarrow_dataset())
    nulls: Counter[str] = Counter()
    roles: set[str | None] = set()
    for batch in column_slices(snapshot, columns):  # a slice at a time: 3M rows at 1M runs
        for column in columns:
            nulls[column] += batch.column(column).null_count
        roles.update(pc.unique(batch.column("role")).to_pylist())
    for column in columns:
        if nulls[column]:
            return f"{nulls[column]} row(s) with no {column}"
    unknown = {r for r in roles if r is not None} - set(ROLES)
    if unknown:
        return f"rows of unknown role {sorted(unknown)[0]!r}"
    return None
