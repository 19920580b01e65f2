"""in-toto links into ``link_artifacts``: one row per digest of every material a step read and
every product it wrote, for every link read, each with the link's signer and ``trusted``."""

from __future__ import annotations

from attestlake.crawl.normalize.common import Context, Rows
from attestlake.intoto.links import Link


def link_rows(ctx: Context, link: Link) -> Rows:
    rows = Rows()
    outcome = ctx.outcome
    for artifact in link.artifacts:
        rows.add(
            "link_artifacts",
            {
                "manifest_digest": ctx.manifest_digest,
                "envelope_digest": ctx.envelope_digest,
                "source": ctx.source,
                "step": link.step,
                "kind": artifact.kind,
                "path": artifact.path,
                "digest_algorithm": artifact.algorithm,
                "digest_value": artifact.digest,
                "command": link.command_json,
                "format": outcome.format,
                "signer": outcome.signer,
                "key_id": outcome.key_id,
                "trusted": outcome.verified,
            },
        )
    return rows
