"""SLSA verification summary attestations (VSAs, v0.2 and v1) into
``verification_summaries``."""

from __future__ import annotations

from attestlake.crawl.normalize.common import Context, Rows, as_object, s, to_json, ts
from attestlake.intoto.claims import VSA_TYPES

PREDICATE_TYPES = VSA_TYPES
OWNS_SUBJECTS = False


def normalise(ctx: Context) -> Rows:
    rows = Rows()
    pred = ctx.predicate
    policy = as_object(pred.get("policy"))
    levels = pred.get("verifiedLevels")
    rows.add(
        "verification_summaries",
        {
            "manifest_digest": ctx.manifest_digest,
            "envelope_digest": ctx.envelope_digest,
            "statement_digest": ctx.statement_digest,
            "verifier_id": s(as_object(pred.get("verifier")).get("id")),
            "time_verified": ts(pred.get("timeVerified")),
            "resource_uri": s(pred.get("resourceUri")) or s(pred.get("resource_uri")),
            "policy_uri": s(policy.get("uri")),
            "verification_result": s(pred.get("verificationResult")) or s(pred.get("policy_level")),
            "verified_levels": to_json(levels)
            if isinstance(levels, list)
            else to_json([pred["slsaResult"]] if s(pred.get("slsaResult")) else None),
            "dependency_levels": to_json(pred.get("dependencyLevels")),
            "slsa_version": s(pred.get("slsaVersion")),
            "signer": ctx.outcome.signer,
            "source": ctx.source,
        },
    )
    return rows
