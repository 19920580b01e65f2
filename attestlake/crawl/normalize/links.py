"""in-toto links into ``link_artifacts``: one row per digest of every material a step read and
every product it wrote, for every link read, each with the link's signer and ``trusted``. At
most :data:`MAX_ARTIFACTS` rows of one link are written, and the command every row repeats is
cut to :data:`~attestlake.crawl.normalize.common.MAX_TEXT` characters."""

from __future__ import annotations

import itertools
import json

from attestlake.crawl.normalize.common import MAX_TEXT, Context, Rows
from attestlake.intoto.links import Link

#: Rows written of one link (hostile input bound: each ``"p":{"a":"d"}`` would be a row).
MAX_ARTIFACTS = 100_000


def _command(command: tuple[str, ...]) -> str:
    """The command as a JSON list of at most :data:`MAX_TEXT` characters: past the bound, the
    argument that does not fit is cut (``…`` marking the cut) and the rest left out."""
    whole = json.dumps(list(command), separators=(",", ":"), ensure_ascii=False)
    if len(whole) <= MAX_TEXT:
        return whole
    kept: list[str] = []
    size = 1  # "["
    for arg in command:
        piece = len(json.dumps(arg, ensure_ascii=False)) + 1  # with its "," or "]"
        if size + piece > MAX_TEXT - 4:  # room left for a cut argument: quotes, "…", "]"
            room = MAX_TEXT - size - 4
            cut = arg[:room]
            while (escaped := len(json.dumps(cut, ensure_ascii=False)) - 2) > room:
                cut = cut[: len(cut) * room // escaped]  # escapes take room
            kept.append(cut + "…")
            break
        kept.append(arg)
        size += piece
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)


def link_rows(ctx: Context, link: Link) -> Rows:
    rows = Rows()
    outcome = ctx.outcome
    command = _command(link.command)
    for artifact in itertools.islice(link.artifacts, MAX_ARTIFACTS):
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
                "command": command,
                "format": outcome.format,
                "signer": outcome.signer,
                "key_id": outcome.key_id,
                "trusted": outcome.verified,
            },
        )
    return rows
