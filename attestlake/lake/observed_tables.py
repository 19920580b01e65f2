"""The tables of what the crawler saw, verified or not, each row with its outcome or trust.

``verifications`` holds every document the crawler saw, with the outcome of verifying it;
``attestations`` every in-toto statement it could read, ``sbom_components`` every SBOM and
``link_artifacts`` every artifact of an in-toto link it could read, each row with a ``trusted``
flag.
"""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.file_layout import NARROW_ROW_GROUP
from attestlake.lake.table_schema import TIMESTAMP, Table, crawled

VERIFICATIONS = Table(
    "verifications",
    crawled(
        "manifest_digest",
        "envelope_digest",
        "source",
        "status",
        "reason",
        "detail",
        "signer",
        "key_id",
        "predicate_type",
        "run_id",
        "workflow",
        "project",
        ("crawled_at", TIMESTAMP),
        "crawl_date",
        "format",
        "issuer",
        "statement_digest",
        "policy_digest",
    ),
    trusted=False,
    key=("manifest_digest", "envelope_digest"),
    sort_by=("status", "reason"),
    no_statistics=("detail",),
)

SBOM_COMPONENTS = Table(
    "sbom_components",
    crawled(
        "manifest_digest",
        "envelope_digest",
        "sbom_digest",
        "carrier",
        "sbom_format",
        "sbom_spec_version",
        "sbom_name",
        "bom_ref",
        "purl",
        "name",
        "version",
        "type",
        "group",
        "licenses",
        "hashes",
        ("trusted", pa.bool_()),
        "source",
    ),
    trusted=False,
    key=("manifest_digest", "envelope_digest", "sbom_digest", "bom_ref", "name", "version"),
    selected_by=("carrier", "trusted"),  # the crawl's replays (attestlake.crawl.replay)
    row_group=NARROW_ROW_GROUP,
)

ATTESTATIONS = Table(
    "attestations",
    crawled(
        "manifest_digest",
        "envelope_digest",
        "statement_digest",
        "source",
        "format",
        "statement_type",
        "predicate_type",
        "subjects",
        "statement",
        ("trusted", pa.bool_()),
        "signer",
        "issuer",
        "crawl_date",
    ),
    trusted=False,
    key=("manifest_digest", "envelope_digest"),
    no_statistics=("subjects", "statement"),
    selected_by=("statement_digest", "trusted"),  # the crawl's replays
)

LINK_ARTIFACTS = Table(
    "link_artifacts",
    crawled(
        "manifest_digest",
        "envelope_digest",
        "source",
        "step",
        "kind",
        "path",
        "digest_algorithm",
        "digest_value",
        "command",
        "format",
        "signer",
        "key_id",
        ("trusted", pa.bool_()),
    ),
    trusted=False,
    key=("manifest_digest", "envelope_digest", "kind", "path", "digest_algorithm"),
)
