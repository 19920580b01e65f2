"""The lake's tables: names, Arrow schemas and partition columns (documented in docs/lake.md).

``verifications`` holds every document the crawler saw, verified or not; ``attestations`` every
in-toto statement it could read, ``sbom_components`` every SBOM and ``link_artifacts`` every
artifact of an in-toto link it could read, each row with a ``trusted`` flag (:mod:`attestlake.lake.observed_tables`). ``published_documents`` and
``inventory`` hold what SecOps published to a store (contracts and inventories): unsigned,
declared state, read as it is (:mod:`attestlake.lake.published_tables`). Every other table is
*trusted* (:mod:`attestlake.lake.trusted_tables`, :mod:`attestlake.lake.policy_tables`,
:mod:`attestlake.lake.evidence_tables`): it holds rows only from documents whose
outcome was ``verified``, except the ``contract_requirements`` of published contracts (their
``published_at`` is set). This module lists them all, with the crawl journal ``crawls``.

Every table but ``crawls`` has ``manifest_digest``: the crawl unit a row came from (an OCI
manifest, or for file sources the sha256 of the document), and ``crawl_id`` and ``crawl_batch``:
the crawl and the batch of that crawl that wrote it. ``crawls`` is the crawlers' journal
(:mod:`attestlake.lake.journal`): which crawls started, which batches they committed, which completed
and which were interrupted; the clean-up after an interruption relies on it.
"""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.evidence_tables import JUNIT_CASES, SARIF_RESULTS, VEX_STATEMENTS
from attestlake.lake.kept_tables import BLOBS, TRUST_CHANGES
from attestlake.lake.observed_tables import (
    ATTESTATIONS,
    LINK_ARTIFACTS,
    SBOM_COMPONENTS,
    VERIFICATIONS,
)
from attestlake.lake.policy_tables import POLICY_EVALUATIONS, POLICY_VIOLATIONS
from attestlake.lake.published_tables import INVENTORY, PUBLISHED_DOCUMENTS
from attestlake.lake.table_schema import CRAWL_COLUMNS, TIMESTAMP, Table, schema_of
from attestlake.lake.trusted_tables import (
    CONTRACT_REQUIREMENTS,
    MATERIALS,
    PROVENANCE,
    RUN_EVENTS,
    RUNS,
    SUBJECTS,
    VERIFICATION_SUMMARIES,
    WITNESS_ATTESTATIONS,
)

__all__ = [
    "ATTESTATIONS",
    "BLOBS",
    "BY_NAME",
    "COMPLETION_TABLES",
    "CONTRACT_REQUIREMENTS",
    "CRAWLS",
    "CRAWL_COLUMNS",
    "INVENTORY",
    "JUNIT_CASES",
    "LINK_ARTIFACTS",
    "MATERIALS",
    "POLICY_EVALUATIONS",
    "POLICY_VIOLATIONS",
    "PROVENANCE",
    "PUBLISHED_DOCUMENTS",
    "REBUILT_TABLES",
    "RUNS",
    "RUN_EVENTS",
    "SARIF_RESULTS",
    "SBOM_COMPONENTS",
    "SUBJECTS",
    "TABLES",
    "TRUST_CHANGES",
    "UNIT_TABLES",
    "VERIFICATIONS",
    "VERIFICATION_SUMMARIES",
    "VEX_STATEMENTS",
    "WITNESS_ATTESTATIONS",
    "Table",
]

CRAWLS = Table(
    "crawls",
    schema_of(
        "crawl_id",
        "event",
        ("batch", pa.int32()),
        ("at", TIMESTAMP),
        "source",
        "version",
        "tables",
        "rows",
        "detail",
        "policy_digest",
    ),
    trusted=False,
    key=("crawl_id", "event", "batch"),
    no_statistics=("tables", "rows", "detail"),
)

#: The tables a crawl writes in each batch, in the order it writes them: data tables first,
#: ``published_documents`` and ``verifications`` last, so a crawl unit counts as ingested only
#: once all its rows are in (a published contract or inventory once its ``published_documents``
#: row is; an attestation once its ``verifications`` rows are). The batch is then journalled in
#: ``crawls``.
UNIT_TABLES: tuple[Table, ...] = (
    RUNS,
    RUN_EVENTS,
    SUBJECTS,
    MATERIALS,
    CONTRACT_REQUIREMENTS,
    INVENTORY,
    PROVENANCE,
    WITNESS_ATTESTATIONS,
    VERIFICATION_SUMMARIES,
    POLICY_EVALUATIONS,
    POLICY_VIOLATIONS,
    SBOM_COMPONENTS,
    SARIF_RESULTS,
    JUNIT_CASES,
    VEX_STATEMENTS,
    LINK_ARTIFACTS,
    ATTESTATIONS,
    BLOBS,
    PUBLISHED_DOCUMENTS,
    VERIFICATIONS,
)
#: The tables a re-evaluation under another trust policy rebuilds from ``blobs``: every table
#: a crawl writes but ``blobs`` itself.
REBUILT_TABLES: tuple[Table, ...] = tuple(t for t in UNIT_TABLES if t is not BLOBS)
#: Every table of a lake: the crawled tables, the record of verdict changes and the journal.
TABLES: tuple[Table, ...] = (*UNIT_TABLES, TRUST_CHANGES, CRAWLS)
#: The tables whose ``manifest_digest`` values name the crawl units that are complete.
COMPLETION_TABLES: tuple[Table, ...] = (PUBLISHED_DOCUMENTS, VERIFICATIONS)
BY_NAME = {t.name: t for t in TABLES}
