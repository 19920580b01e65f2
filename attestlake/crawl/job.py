"""A crawl job: a crawl as a person names it, by a source reference, a trust-policy file and a
size limit in words.

:func:`crawl_job` loads the trust policy, reads the size (``32M``, see
:func:`~attestlake.crawl.crawl.parse_size`), opens the source (an OCI layout directory, a
registry repository or every repository of a registry, or files of bundles, envelopes,
statements and SBOMs: :func:`~attestlake.crawl.sources.open_source`), runs
:func:`~attestlake.crawl.crawl.crawl` into the lake and closes the source again.
:func:`reverify_job` makes a lake's verdicts again under a policy file, without a source.
"""

from __future__ import annotations

from pathlib import Path

from attestlake.crawl.crawl import ProgressFn, crawl, parse_size
from attestlake.crawl.crawl_result import CrawlResult
from attestlake.crawl.reverify import ReverifyResult, SwappedFn, reverify
from attestlake.crawl.sources import open_source
from attestlake.verify.verify import load_policy


def crawl_job(
    source: str,
    lake_root: Path,
    trust: Path,
    *,
    batch_size: int,
    max_blob_size: str,
    jobs: int | None,
    progress: ProgressFn | None = None,
) -> CrawlResult:
    """Crawl what ``source`` names into the lake at ``lake_root`` under the policy in ``trust``;
    ``max_blob_size`` bounds each document and evidence blob read."""
    policy = load_policy(trust)
    max_size = parse_size(max_blob_size)
    src = open_source(source, max_document_size=max_size)
    try:
        return crawl(
            src,
            lake_root,
            policy,
            batch_size=batch_size,
            max_document_size=max_size,
            jobs=jobs,
            progress=progress,
        )
    finally:
        src.close()


def reverify_job(
    lake_root: Path, trust: Path, *, jobs: int | None, on_swapped: SwappedFn | None = None
) -> ReverifyResult:
    """Make every verdict of the lake at ``lake_root`` again under the policy in ``trust``,
    from the bytes the lake kept (:mod:`attestlake.crawl.reverify`)."""
    return reverify(lake_root, load_policy(trust), crawl, jobs=jobs, on_swapped=on_swapped)
