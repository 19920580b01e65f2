"""The lake's tables: names, Arrow schemas and partition columns (documented in docs/lake.md).

``verifications`` holds every envelope the crawler saw, verified or not. Every other table is
*trusted*: it holds rows only from envelopes whose outcome was ``verified``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Table:
    name: str
    schema: pa.Schema
    partition_by: tuple[str, ...] = ()
    trusted: bool = True
    #: Columns that identify a row: the crawler never writes two rows with the same key.
    key: tuple[str, ...] = ()


VERIFICATIONS = Table(
    "verifications",
    pa.schema(
        [
            ("manifest_digest", pa.string()),
            ("envelope_digest", pa.string()),
            ("source", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("detail", pa.string()),
            ("signer", pa.string()),
            ("key_id", pa.string()),
            ("predicate_type", pa.string()),
            ("run_id", pa.string()),
            ("workflow", pa.string()),
            ("project", pa.string()),
            ("crawled_at", _TS),
            ("crawl_date", pa.string()),
        ]
    ),
    partition_by=("crawl_date",),
    trusted=False,
    key=("manifest_digest", "envelope_digest"),
)

RUNS = Table(
    "runs",
    pa.schema(
        [
            ("run_id", pa.string()),
            ("manifest_digest", pa.string()),
            ("envelope_digest", pa.string()),
            ("workflow", pa.string()),
            ("project", pa.string()),
            ("team", pa.string()),
            ("status", pa.string()),
            ("contract_name", pa.string()),
            ("contract_revision", pa.int32()),
            ("contract_digest", pa.string()),
            ("runner_type", pa.string()),
            ("runner_url", pa.string()),
            ("repository", pa.string()),
            ("commit", pa.string()),
            ("ref", pa.string()),
            ("actor", pa.string()),
            ("started_at", _TS),
            ("finished_at", _TS),
            ("signer", pa.string()),
            ("key_id", pa.string()),
            ("annotations", pa.string()),
            ("source", pa.string()),
            ("run_date", pa.string()),
        ]
    ),
    partition_by=("run_date",),
    key=("manifest_digest",),
)

SUBJECTS = Table(
    "subjects",
    pa.schema(
        [
            ("run_id", pa.string()),
            ("manifest_digest", pa.string()),
            ("name", pa.string()),
            ("digest", pa.string()),
            ("material_name", pa.string()),
            ("material_type", pa.string()),
            ("run_date", pa.string()),
        ]
    ),
    partition_by=("run_date",),
    key=("manifest_digest", "name", "digest"),
)

MATERIALS = Table(
    "materials",
    pa.schema(
        [
            ("run_id", pa.string()),
            ("manifest_digest", pa.string()),
            ("name", pa.string()),
            ("type", pa.string()),
            ("value", pa.string()),
            ("filename", pa.string()),
            ("digest", pa.string()),
            ("media_type", pa.string()),
            ("size", pa.int64()),
            ("output", pa.bool_()),
            ("sbom_format", pa.string()),
            ("sbom_spec_version", pa.string()),
            ("sbom_components", pa.int64()),
            ("sbom_main_name", pa.string()),
            ("sbom_main_digest", pa.string()),
            ("annotations", pa.string()),
            ("run_date", pa.string()),
        ]
    ),
    partition_by=("run_date",),
    key=("manifest_digest", "name"),
)

CONTRACT_REQUIREMENTS = Table(
    "contract_requirements",
    pa.schema(
        [
            ("contract_name", pa.string()),
            ("contract_revision", pa.int32()),
            ("contract_digest", pa.string()),
            ("material_name", pa.string()),
            ("material_type", pa.string()),
            ("optional", pa.bool_()),
            ("output", pa.bool_()),
            ("manifest_digest", pa.string()),
        ]
    ),
    key=("contract_digest", "material_name"),
)

#: Every table, data tables first: ``verifications`` is written last in each batch, so a
#: manifest counts as ingested only once all its rows are in.
TABLES: tuple[Table, ...] = (RUNS, SUBJECTS, MATERIALS, CONTRACT_REQUIREMENTS, VERIFICATIONS)
BY_NAME = {t.name: t for t in TABLES}
