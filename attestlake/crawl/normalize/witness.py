"""witness (in-toto) attestation collections: subjects, one row per attestation type, and any
SBOM the collection carries (syft/CycloneDX or SPDX attestors)."""

from __future__ import annotations

from attestlake.crawl.normalize.common import (
    Context,
    Rows,
    as_list,
    as_object,
    s,
    ts,
)
from attestlake.crawl.normalize.sbom import sbom_format, sbom_rows
from attestlake.intoto.claims import WITNESS_TYPES

PREDICATE_TYPES = WITNESS_TYPES
OWNS_SUBJECTS = False


def normalise(ctx: Context) -> Rows:
    rows = Rows()
    pred = ctx.predicate
    name = s(pred.get("name"))
    for entry in map(as_object, as_list(pred.get("attestations"))):
        kind = s(entry.get("type"))
        rows.add(
            "witness_attestations",
            {
                "manifest_digest": ctx.manifest_digest,
                "envelope_digest": ctx.envelope_digest,
                "statement_digest": ctx.statement_digest,
                "collection_name": name,
                "attestation_type": kind,
                "started_at": ts(entry.get("starttime")),
                "finished_at": ts(entry.get("endtime")),
                "signer": ctx.outcome.signer,
                "source": ctx.source,
            },
        )
        attestation = entry.get("attestation")
        if sbom_format(attestation) is not None and isinstance(attestation, dict):
            rows.extend(sbom_rows(ctx, attestation, carrier="witness", trusted=True))
    return rows
