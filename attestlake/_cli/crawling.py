"""The crawler command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli.app import (
    LakeOpt,
    _echo,
    app,
)


# -- crawler -----------------------------------------------------------------------------------
@app.command()
def crawl(
    source: Annotated[
        str,
        typer.Option("--from", help="Store to crawl: an OCI layout directory or HOST[:PORT]/REPO."),
    ],
    lake: LakeOpt,
    trust: Annotated[Path, typer.Option("--trust", help="Trust policy YAML.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Discover attestations in a store, verify them, and write the lake (incremental)."""
    from attestlake.crawl import crawl as run_crawl
    from attestlake.store import open_store
    from attestlake.trust import load_policy

    policy = load_policy(trust)
    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if tty:
            sys.stderr.write(f"\rcrawling: {done}/{total} manifests")
            sys.stderr.flush()

    result = run_crawl(open_store(source), lake, policy, progress=progress)
    if tty and result.ingested:
        sys.stderr.write("\n")
    if as_json:
        _echo(json.dumps(result.to_json(), indent=2))
        return
    _echo(
        f"crawled {result.source}: {result.discovered} attestations, {result.already_known} "
        f"already in the lake, {result.ingested} new: {result.verified} verified, "
        f"{result.not_verified} not verified"
    )
    for reason, n in sorted(result.reasons.items()):
        _echo(f"  not verified ({reason}): {n}")
    _echo(f"lake: {result.lake}")
