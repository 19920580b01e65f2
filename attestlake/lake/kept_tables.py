"""The tables a crawl keeps beside its verdicts: the bytes it read, and how verdicts changed.

``blobs`` holds the exact bytes of every crawl unit the crawler read (each document, each
evidence blob, each published contract or inventory), so that the verdicts of the lake can be
made again under another trust policy without the store (:mod:`attestlake.crawl.reverify`).
A signed document whose statement ``attestations.statement`` holds is kept without it: its
``content`` is the document with the statement's base64 text cut out at ``statement_at``
(:mod:`attestlake.crawl.cut_statement`); NULL ``statement_at``: ``content`` is the whole
document. Each batch's rows are written grouped by ``role`` (documents together, evidence
together), which compresses better than the crawl's order; the crawl's order is in
``seen_at``, ``crawl_batch``, ``unit_index`` and ``part``.
``trust_changes`` records, for each re-evaluation, the documents whose verdict changed. Neither
is rebuilt by a re-evaluation: they are the lake's memory.
"""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.table_schema import TIMESTAMP, Table, crawled

#: What a ``blobs`` row holds (its ``role``).
DOCUMENT, EVIDENCE, UNIT_ERROR = "document", "evidence", "unit"
PUBLISHED, DECLARATION = "published", "declaration"
ROLES = (DOCUMENT, EVIDENCE, UNIT_ERROR, PUBLISHED, DECLARATION)

BLOBS = Table(
    "blobs",
    crawled(
        "manifest_digest",
        "source",
        ("seen_at", TIMESTAMP),
        ("unit_index", pa.int32()),
        ("part", pa.int32()),
        "role",
        "digest",
        ("content", pa.large_binary()),
        "error",
        "kind",
        "name",
        ("revision", pa.int32()),
        "created",
        ("statement_at", pa.int32()),
    ),
    trusted=False,
    key=("manifest_digest", "part"),
    sort_by=("role",),
    large_values=("content",),
)

TRUST_CHANGES = Table(
    "trust_changes",
    crawled(
        ("changed_at", TIMESTAMP),
        "policy_before",
        "policy_after",
        "change",
        "manifest_digest",
        "envelope_digest",
        "source",
        "predicate_type",
        "run_id",
        "workflow",
        "project",
        "status_before",
        "reason_before",
        "signer_before",
        "status_after",
        "reason_after",
        "signer_after",
        "detail_after",
    ),
    trusted=False,
    key=("crawl_id", "manifest_digest", "envelope_digest"),
)
