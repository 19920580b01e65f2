"""The crawler command, and ``verify`` (the same verification, without a lake)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from attestlake._cli.app import (
    LakeOpt,
    app,
)
from attestlake._cli.choices import VERDICT_FORMAT
from attestlake._cli.console import echo

if TYPE_CHECKING:
    from attestlake.crawl.crawl_result import CrawlResult


JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs", min=1, help="Worker processes verifying in parallel (default: one per core)."
    ),
]


# -- crawler -----------------------------------------------------------------------------------
@app.command()
def crawl(
    sources: Annotated[
        list[str],
        typer.Option(
            "--from",
            help="What to crawl (repeatable: every source given is crawled, in order): an OCI "
            "layout directory, HOST[:PORT]/REPO (one registry repository), HOST[:PORT]/* "
            "(every repository), or a file or folder of Sigstore bundles, DSSE envelopes, "
            "in-toto links, PEP 740 attestations and PyPI provenance, npm attestations, "
            "statements and SBOMs (.json, .jsonl, .link, .attestation, .provenance, ...).",
            show_default=False,
        ),
    ],
    lake: LakeOpt,
    trust: Annotated[Path, typer.Option("--trust", help="Trust policy YAML.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, help="Attestations read, verified and written per batch."
        ),
    ] = 1000,
    batch_memory: Annotated[
        str,
        typer.Option(
            "--batch-memory",
            help="Most rows (as Arrow) a batch holds before it is written (e.g. 16M): a smaller "
            "bound lowers the crawl's peak memory and makes more, smaller commits; a batch holds "
            "at least one chunk of 64 attestations.",
        ),
    ] = "64M",
    max_blob_size: Annotated[
        str,
        typer.Option(
            "--max-blob-size",
            help="Largest document or evidence blob read (e.g. 32M); larger ones are recorded "
            "as malformed.",
        ),
    ] = "32M",
    jobs: JobsOpt = None,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Crawl a source that lists nothing (a repository not created yet) without "
            "failing; the summary says 0.",
        ),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="K/N: read only share K of N of the crawl units (by manifest digest); N "
            "crawlers with 1/N ... N/N make the lake one crawl makes.",
        ),
    ] = None,
) -> None:
    """Discover attestations, verify them against the trust policy, and write the lake.

    Incremental and resumable: what is already in the lake is not read again. A source that
    lists nothing (no such repository or directory, nothing in it) is an error, and nothing
    is written, unless --allow-empty. The lake is a new or empty directory, or a lake.
    """
    import functools

    from attestlake._internal.memory_release import prefer_returning_pool
    from attestlake.crawl.job import crawl_job
    from attestlake.lake.object_store import lake_root

    prefer_returning_pool()  # this process crawls: its memory should follow what it holds
    run = functools.partial(
        crawl_job,
        sources,
        lake_root(lake),
        trust,
        batch_size=batch_size,
        batch_memory=batch_memory,
        max_blob_size=max_blob_size,
        jobs=jobs,
        allow_empty=allow_empty,
        shard=shard,
    )
    result = _with_progress_bar(run)
    if as_json:
        echo(json.dumps(result.to_json(), indent=2))
        return
    for line in result.describe():
        echo(line)


def _with_progress_bar(run: Callable[..., CrawlResult]) -> CrawlResult:
    """``run()``, drawing its progress on stderr while it runs when stderr is a terminal (one
    line per phase: listing, fetching, verifying, writing, each with its count, total once
    known, and rate); elsewhere (CI logs) nothing is drawn."""
    if not sys.stderr.isatty():
        return run()
    from attestlake._cli.progress_bar import crawl_progress

    with crawl_progress() as show:
        return run(progress=show)


@app.command()
def reverify(
    lake: LakeOpt,
    trust: Annotated[Path, typer.Option("--trust", help="Trust policy YAML.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    jobs: JobsOpt = None,
) -> None:
    """Make every verdict of the lake again under a trust policy, without crawling.

    Reads the exact bytes the lake kept of every attestation, verifies and normalises them
    again, moves rows into and out of the trusted tables, and records each changed verdict in
    trust_changes (saved query trust_changes). A crawl does the same first whenever its
    --trust differs from the policy of the lake's verdicts.
    """
    from attestlake._internal.memory_release import prefer_returning_pool
    from attestlake.crawl.job import reverify_job
    from attestlake.lake.object_store import lake_root

    prefer_returning_pool()  # as for crawl: this process reads and writes the whole lake
    result = reverify_job(lake_root(lake), trust, jobs=jobs)
    if as_json:
        echo(json.dumps(result.to_json(), indent=2))
        return
    for line in result.describe():
        echo(line)
    echo(f"lake: {result.lake}")


# -- verify ------------------------------------------------------------------------------------
VERIFY_COLUMNS = ("source", "status", "reason", "signer", "predicate_type")


@app.command()
def verify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Attestation files: DSSE envelopes, Sigstore bundles (v0.1-v0.3), JSON Lines "
            "files of either (.jsonl), in-toto links (.link), PEP 740 attestation objects "
            "(.attestation) and PyPI provenance objects (.provenance), npm attestations "
            "answers, bare in-toto statements.",
            metavar="PATH",
            show_default=False,
        ),
    ],
    trust: Annotated[Path, typer.Option("--trust", help="Trust policy YAML.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="Output format: table or json.", callback=VERDICT_FORMAT
        ),
    ] = "table",
) -> None:
    """Verify attestation files against a trust policy: one outcome per envelope, no lake.

    Exits 0 only when every envelope is verified, 1 otherwise ("N of M not verified"). With the
    table, each envelope not verified gets a line on stderr saying why ("SOURCE: DETAIL"). A
    file that cannot be read is reported (and counted as not verified); the others are still
    read.
    """
    from attestlake._internal.printable import printable
    from attestlake.verify.verify import load_policy, verify_files

    results = list(verify_files(paths, load_policy(trust)))
    records = [r.to_json() for r in results]
    if fmt == "json":
        echo(json.dumps(records, indent=2, ensure_ascii=False))
    else:
        import pyarrow as pa

        from attestlake.lake.render import text_table

        rows = [{c: r[c] or "" for c in VERIFY_COLUMNS} for r in records]
        schema = pa.schema([(c, pa.string()) for c in VERIFY_COLUMNS])
        table = pa.Table.from_pylist(rows, schema=schema)
        echo(text_table(table, keep_end=("source", "signer")))
        for r in results:
            if not r.outcome.verified and not r.unreadable and r.outcome.detail:
                echo(f"{printable(r.source)}: {printable(r.outcome.detail)}", err=True)
    for r in results:
        if r.unreadable:
            echo(f"error: {printable(r.outcome.detail or '')}", err=True)
    failed = sum(not r.outcome.verified for r in results)
    if failed:
        echo(f"{failed} of {len(results)} not verified", err=True)
        raise typer.Exit(code=1)
    echo(f"all {len(results)} verified", err=True)


@app.command()
def compact(lake: LakeOpt) -> None:
    """Compact the lake's tables into large files and delete superseded files (vacuum)."""
    from attestlake.lake.object_store import lake_root
    from attestlake.lake.write import compact as compact_lake

    result = compact_lake(lake_root(lake))
    for name, (before, after, removed) in result.tables.items():
        echo(f"{name}: {before} files -> {after}, {removed} superseded files deleted")
