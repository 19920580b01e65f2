"""The trusted tables: rows only from documents whose outcome was ``verified``.

``runs``, ``run_events``, ``subjects`` and ``materials`` come from run records; ``provenance``
from SLSA provenance, ``witness_attestations`` from witness collections and
``verification_summaries`` from SLSA verification summaries. ``contract_requirements`` also
holds the requirements of published contracts (their ``published_at`` is set), which are read,
not verified.
"""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.table_schema import TIMESTAMP, Table, crawled

RUNS = Table(
    "runs",
    crawled(
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
        ("started_at", TIMESTAMP),
        ("finished_at", TIMESTAMP),
        "signer",
        "key_id",
        "annotations",
        "source",
        "run_date",
        "predicate_type",
        "reason",
    ),
    key=("manifest_digest", "envelope_digest"),
    sort_by=("project", "workflow", "started_at"),
)

RUN_EVENTS = Table(
    "run_events",
    crawled(
        "run_id",
        "status",
        "reason",
        ("event_at", TIMESTAMP),
        "workflow",
        "project",
        "team",
        "contract_name",
        ("contract_revision", pa.int32()),
        "contract_digest",
        "runner_type",
        "runner_url",
        ("started_at", TIMESTAMP),
        ("finished_at", TIMESTAMP),
        "signer",
        "key_id",
        "manifest_digest",
        "envelope_digest",
        "source",
        "run_date",
    ),
    key=("manifest_digest", "envelope_digest"),
    sort_by=("project", "workflow", "run_id", "event_at"),
)

SUBJECTS = Table(
    "subjects",
    crawled(
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
    key=("manifest_digest", "envelope_digest", "name", "digests"),
)

MATERIALS = Table(
    "materials",
    crawled(
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
    key=("manifest_digest", "run_id", "name"),
)

CONTRACT_REQUIREMENTS = Table(
    "contract_requirements",
    crawled(
        "contract_name",
        ("contract_revision", pa.int32()),
        "contract_digest",
        "material_name",
        "material_type",
        ("optional", pa.bool_()),
        ("output", pa.bool_()),
        "manifest_digest",
        "source",
        ("published_at", TIMESTAMP),
        "material_group",
    ),
    key=("contract_digest", "material_name"),
)


PROVENANCE = Table(
    "provenance",
    crawled(
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
        ("started_at", TIMESTAMP),
        ("finished_at", TIMESTAMP),
        "external_parameters",
        "internal_parameters",
        "resolved_dependencies",
        "signer",
        "issuer",
        "source",
        "build_date",
    ),
    key=("manifest_digest", "envelope_digest"),
    no_statistics=("external_parameters", "internal_parameters", "resolved_dependencies"),
)

WITNESS_ATTESTATIONS = Table(
    "witness_attestations",
    crawled(
        "manifest_digest",
        "envelope_digest",
        "statement_digest",
        "collection_name",
        "attestation_type",
        ("started_at", TIMESTAMP),
        ("finished_at", TIMESTAMP),
        "signer",
        "source",
    ),
    key=("manifest_digest", "envelope_digest", "attestation_type", "started_at"),
)

VERIFICATION_SUMMARIES = Table(
    "verification_summaries",
    crawled(
        "manifest_digest",
        "envelope_digest",
        "statement_digest",
        "verifier_id",
        ("time_verified", TIMESTAMP),
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
