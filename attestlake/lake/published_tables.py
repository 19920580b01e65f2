"""The published tables: what SecOps published to a store, read as it is.

``published_documents`` holds each published contract and inventory document and
``inventory`` the rows of each inventory: unsigned, declared state, never verified.
"""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.table_schema import TIMESTAMP, Table, crawled

INVENTORY = Table(
    "inventory",
    crawled(
        "inventory_name",
        ("revision", pa.int32()),
        "digest",
        ("published_at", TIMESTAMP),
        "workflow",
        "project",
        "team",
        "owner",
        "contract",
        "cadence",
        ("cadence_hours", pa.int32()),
        "manifest_digest",
        "source",
    ),
    trusted=False,
    key=("manifest_digest", "project", "workflow"),
)

PUBLISHED_DOCUMENTS = Table(
    "published_documents",
    crawled(
        "kind",
        "name",
        ("revision", pa.int32()),
        "digest",
        ("published_at", TIMESTAMP),
        "content",
        "error",
        "manifest_digest",
        "source",
        "status",
        "reason",
        "detail",
        "signer",
        "key_id",
        "policy_digest",
    ),
    trusted=False,
    key=("manifest_digest",),
    no_statistics=("content", "error", "detail"),
)
