"""The lake's tables: names, Arrow schemas and partition columns (documented in docs/lake.md).

``verifications`` holds every document the crawler saw, verified or not; ``attestations`` every
in-toto statement it could read and ``sbom_components`` every SBOM it could read, each row with
a ``trusted`` flag. ``published_documents`` and ``inventory`` hold what SecOps published to a
store (contracts and inventories): unsigned, declared state, read as it is. Every other table
is *trusted*: it holds rows only from documents whose outcome was ``verified``, except the
``contract_requirements`` of published contracts (their ``published_at`` is set).

Every table but ``crawls`` has ``manifest_digest``: the crawl unit a row came from (an OCI
manifest, or for file sources the sha256 of the document), and ``crawl_id`` and ``crawl_batch``:
the crawl and the batch of that crawl that wrote it. ``crawls`` is the crawlers' journal
(:mod:`attestlake.lake.journal`): which crawls started, which batches they committed, which completed
and which were interrupted; the clean-up after an interruption relies on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")
_S = pa.string()


@dataclass(frozen=True)
class Table:
    name: str
    schema: pa.Schema
    partition_by: tuple[str, ...] = ()
    trusted: bool = True
    #: Columns that identify a row: the crawler never writes two rows with the same key.
    key: tuple[str, ...] = ()


def _schema(*columns: tuple[str, pa.DataType] | str) -> pa.Schema:
    """Columns given as names (strings) or (name, type) pairs."""
    return pa.schema([(c, _S) if isinstance(c, str) else c for c in columns])


#: The columns that name the crawl and batch that wrote a row, last in every crawled table.
CRAWL_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (("crawl_id", _S), ("crawl_batch", pa.int32()))


def _crawled(*columns: tuple[str, pa.DataType] | str) -> pa.Schema:
    """The schema of a table the crawler writes: ``columns``, then :data:`CRAWL_COLUMNS`."""
    return _schema(*columns, *CRAWL_COLUMNS)


VERIFICATIONS = Table(
    "verifications",
    _crawled(
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
        ("crawled_at", _TS),
        "crawl_date",
        "format",
        "issuer",
        "statement_digest",
    ),
    partition_by=("crawl_date",),
    trusted=False,
    key=("manifest_digest", "envelope_digest"),
)

RUNS = Table(
    "runs",
    _crawled(
        "run_id",
        "manifest_digest",
        "envelope_digest",
        "workflow",
        "project",
        "team",
        "status",
        "contract_name",
        ("contract_revision", pa.int32()),
        "contract_digest",
        "runner_type",
        "runner_url",
        "repository",
        "commit",
        "ref",
        "actor",
        ("started_at", _TS),
        ("finished_at", _TS),
        "signer",
        "key_id",
        "annotations",
        "source",
        "run_date",
        "predicate_type",
        "reason",
    ),
    partition_by=("run_date",),
    key=("manifest_digest", "envelope_digest"),
)

RUN_EVENTS = Table(
    "run_events",
    _crawled(
        "run_id",
        "status",
        "reason",
        ("event_at", _TS),
        "workflow",
        "project",
        "team",
        "contract_name",
        ("contract_revision", pa.int32()),
        "contract_digest",
        "runner_type",
        "runner_url",
        ("started_at", _TS),
        ("finished_at", _TS),
        "signer",
        "key_id",
        "manifest_digest",
        "envelope_digest",
        "source",
        "run_date",
    ),
    partition_by=("run_date",),
    key=("manifest_digest", "envelope_digest"),
)

SUBJECTS = Table(
    "subjects",
    _crawled(
        "run_id",
        "manifest_digest",
        "name",
        "digest",
        "material_name",
        "material_type",
        "run_date",
        "envelope_digest",
        "predicate_type",
        "digests",
    ),
    partition_by=("run_date",),
    key=("manifest_digest", "envelope_digest", "name", "digests"),
)

MATERIALS = Table(
    "materials",
    _crawled(
        "run_id",
        "manifest_digest",
        "envelope_digest",
        "name",
        "type",
        "value",
        "filename",
        "digest",
        "media_type",
        ("size", pa.int64()),
        ("output", pa.bool_()),
        "sbom_format",
        "sbom_spec_version",
        ("sbom_components", pa.int64()),
        "sbom_main_name",
        "sbom_main_digest",
        "annotations",
        "run_date",
    ),
    partition_by=("run_date",),
    key=("manifest_digest", "run_id", "name"),
)

CONTRACT_REQUIREMENTS = Table(
    "contract_requirements",
    _crawled(
        "contract_name",
        ("contract_revision", pa.int32()),
        "contract_digest",
        "material_name",
        "material_type",
        ("optional", pa.bool_()),
        ("output", pa.bool_()),
        "manifest_digest",
        "source",
        ("published_at", _TS),
    ),
    key=("contract_digest", "material_name"),
)

INVENTORY = Table(
    "inventory",
    _crawled(
        "inventory_name",
        ("revision", pa.int32()),
        "digest",
        ("published_at", _TS),
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
    _crawled(
        "kind",
        "name",
        ("revision", pa.int32()),
        "digest",
        ("published_at", _TS),
        "content",
        "error",
        "manifest_digest",
        "source",
    ),
    trusted=False,
    key=("manifest_digest",),
)

PROVENANCE = Table(
    "provenance",
    _crawled(
        "manifest_digest",
        "envelope_digest",
        "statement_digest",
        "predicate_type",
        "run_id",
        "slsa_version",
        "builder_id",
        "build_type",
        "source_repo",
        "source_ref",
        "source_commit",
        "entry_point",
        "invocation_id",
        ("started_at", _TS),
        ("finished_at", _TS),
        "external_parameters",
        "internal_parameters",
        "resolved_dependencies",
        "signer",
        "issuer",
        "source",
        "build_date",
    ),
    partition_by=("build_date",),
    key=("manifest_digest", "envelope_digest"),
)

WITNESS_ATTESTATIONS = Table(
    "witness_attestations",
    _crawled(
        "manifest_digest",
        "envelope_digest",
        "statement_digest",
        "collection_name",
        "attestation_type",
        ("started_at", _TS),
        ("finished_at", _TS),
        "signer",
        "source",
    ),
    key=("manifest_digest", "envelope_digest", "attestation_type", "started_at"),
)

VERIFICATION_SUMMARIES = Table(
    "verification_summaries",
    _crawled(
        "manifest_digest",
        "envelope_digest",
        "statement_digest",
        "verifier_id",
        ("time_verified", _TS),
        "resource_uri",
        "policy_uri",
        "verification_result",
        "verified_levels",
        "dependency_levels",
        "slsa_version",
        "signer",
        "source",
    ),
    key=("manifest_digest", "envelope_digest"),
)

SBOM_COMPONENTS = Table(
    "sbom_components",
    _crawled(
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
)

ATTESTATIONS = Table(
    "attestations",
    _crawled(
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
    partition_by=("crawl_date",),
    trusted=False,
    key=("manifest_digest", "envelope_digest"),
)

CRAWLS = Table(
    "crawls",
    _schema(
        "crawl_id",
        "event",
        ("batch", pa.int32()),
        ("at", _TS),
        "source",
        "version",
        "tables",
        "rows",
        "detail",
    ),
    trusted=False,
    key=("crawl_id", "event", "batch"),
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
    SBOM_COMPONENTS,
    ATTESTATIONS,
    PUBLISHED_DOCUMENTS,
    VERIFICATIONS,
)
#: Every table of a lake: the crawled tables and the crawl journal.
TABLES: tuple[Table, ...] = (*UNIT_TABLES, CRAWLS)
#: The tables whose ``manifest_digest`` values name the crawl units that are complete.
COMPLETION_TABLES: tuple[Table, ...] = (PUBLISHED_DOCUMENTS, VERIFICATIONS)
BY_NAME = {t.name: t for t in TABLES}
