"""The demo command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli.app import (
    app,
)
from attestlake._cli.console import echo


# -- demo --------------------------------------------------------------------------------------
@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to create the demo store and lake.")
    ] = Path("attestlake-demo"),
) -> None:
    """Run the whole chain on a sample organisation: collect, push, crawl, report."""
    from attestlake.audit.report import render_markdown
    from attestlake.demo.demo import run_demo

    result = run_demo(directory, log=lambda line: echo(line, err=True))
    echo(render_markdown(result.report))
    html = result.report_path.with_suffix(".html")
    echo(f"store:  {result.store}\nlake:   {result.lake}\nreport: {result.report_path} ({html})")
    example = "'SELECT workflow, count(*) FROM runs GROUP BY ALL'"
    echo(f"try:    attestlake sql --lake {result.lake} " + example)
