"""A crawl job: a crawl as a person names it, by source references, a trust-policy file and a
size limit in words.

:func:`crawl_job` reads the size (``32M``, see :func:`~attestlake._internal.sizes.parse_size`),
checks that the lake directory may be written, opens the sources (OCI layout directories,
registry repositories or every repository of a registry, or files of bundles, envelopes,
statements and SBOMs: :func:`~attestlake.crawl.sources.open_source`, several crawled as one:
:mod:`attestlake.crawl.sources.combined`) and sees each list something, all before the heavy
modules load, then loads the trust policy, runs :func:`~attestlake.crawl.crawl.crawl` into the
lake and closes the sources again.
:func:`reverify_job` makes a lake's verdicts again under a policy file, without a source.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from attestlake._internal.sizes import parse_size
from attestlake.crawl.shard import ShardedSource, parse_shard
from attestlake.crawl.sources import open_source
from attestlake.crawl.sources.combined import open_sources
from attestlake.crawl.sources.listed import require_listed
from attestlake.errors import EmptySource, InputError
from attestlake.lake.object_store import LakeRoot

if TYPE_CHECKING:
    from attestlake.crawl.crawl_result import CrawlResult
    from attestlake.crawl.progress import ProgressFn
    from attestlake.crawl.reverify import ReverifyResult, SwappedFn


def crawl_job(
    sources: Sequence[str],
    lake_root: LakeRoot,
    trust: Path,
    *,
    batch_size: int,
    max_blob_size: str,
    jobs: int | None,
    batch_memory: str | None = None,
    allow_empty: bool = False,
    progress: ProgressFn | None = None,
    shard: str | None = None,
) -> CrawlResult:
    """Crawl what ``sources`` name, in order, into the lake at ``lake_root`` under the policy
    in ``trust``; ``max_blob_size`` bounds each document and evidence blob read,
    ``batch_memory`` the rows a batch holds before it is written (both sizes as ``32M``; the
    crawl's own bound when ``None``)."""
    from attestlake.lake.location import require_lake_target

    if not sources:
        raise InputError("no source given: pass --from with a path or a registry reference")
    max_size = parse_size(max_blob_size, "--max-blob-size")
    batch_bound = None if batch_memory is None else parse_size(batch_memory, "--batch-memory")
    share = parse_shard(shard) if shard is not None else None
    require_lake_target(lake_root)
    src = open_sources(sources, functools.partial(open_source, max_document_size=max_size))
    try:
        listed = require_listed(src, allow_empty=allow_empty)
        if share is not None:
            listed = ShardedSource(listed, share)
        from attestlake.crawl.crawl import MAX_BATCH_BYTES, crawl
        from attestlake.verify.verify import load_policy

        result = crawl(
            listed,
            lake_root,
            load_policy(trust),
            batch_size=batch_size,
            max_batch_bytes=batch_bound or MAX_BATCH_BYTES,
            max_document_size=max_size,
            jobs=jobs,
            allow_empty=allow_empty,
            progress=progress,
        )
    finally:
        src.close()
    found = result.discovered + sum(result.published.values()) + result.already_published
    if not allow_empty and found == 0 and share is None:  # a shard may own nothing
        raise EmptySource(
            f"no attestations found in {result.source} ({result.other_manifests} manifest(s), "
            "none an attestation or a published contract or inventory: images only?)\n"
            "pass --allow-empty if an empty source is expected"
        )
    return result


def reverify_job(
    lake_root: LakeRoot, trust: Path, *, jobs: int | None, on_swapped: SwappedFn | None = None
) -> ReverifyResult:
    """Make every verdict of the lake at ``lake_root`` again under the policy in ``trust``,
    from the bytes the lake kept (:mod:`attestlake.crawl.reverify`)."""
    from attestlake.crawl.crawl import crawl
    from attestlake.crawl.reverify import reverify
    from attestlake.verify.verify import load_policy

    return reverify(lake_root, load_policy(trust), crawl, jobs=jobs, on_swapped=on_swapped)
