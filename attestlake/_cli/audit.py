"""Audit commands: ad-hoc SQL, saved queries and reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli.app import (
    FormatOpt,
    LakeOpt,
    _echo,
    _kv,
    app,
    query_app,
)
from attestlake.errors import FindingsAtSeverity, InputError


# -- SQL, queries, reports ---------------------------------------------------------------------
@app.command()
def sql(
    statement: Annotated[str, typer.Argument(help="A SQL statement over the lake's views.")],
    lake: LakeOpt,
    fmt: FormatOpt = "table",
) -> None:
    """Run ad-hoc SQL (DuckDB) over the lake: one view per table."""
    from attestlake.lake import Lake
    from attestlake.render import format_table

    with Lake.open(lake) as opened:
        _echo(format_table(opened.sql(statement), fmt))


@query_app.command("list")
def query_list() -> None:
    """List the saved queries with their severity and parameters."""
    from attestlake.queries import load_queries

    for q in load_queries():
        params = ", ".join(f"{p.name}={p.default}" for p in q.params)
        _echo(f"{q.name:32} {q.severity:9} {q.title}" + (f"  [{params}]" if params else ""))


@query_app.command("run")
def query_run(
    name: Annotated[str, typer.Argument(help="Saved query name (see 'query list').")],
    lake: LakeOpt,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Parameter KEY=VALUE.")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Run one saved query against the lake."""
    from attestlake.lake import Lake
    from attestlake.queries import get_query, run_query
    from attestlake.render import format_table

    query = get_query(name)
    with Lake.open(lake) as opened:
        result = run_query(opened, query, _kv(param, "--param"))
    _echo(format_table(result.table, fmt))


@app.command()
def report(
    lake: LakeOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md or json.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="Exit 4 when a finding reaches this severity."),
    ] = None,
) -> None:
    """Run every saved query and render the compliance report."""
    from attestlake.lake import Lake
    from attestlake.queries import severity_rank
    from attestlake.report import render_json, render_markdown, run_report

    if fmt not in ("md", "json"):
        raise InputError(f"--format must be md or json, not {fmt!r}")
    if fail_on is not None:
        severity_rank(fail_on)
    with Lake.open(lake) as opened:
        rep = run_report(opened)
    text = render_markdown(rep) if fmt == "md" else render_json(rep)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        _echo(f"report written to {output}")
    else:
        _echo(text)
    if fail_on is not None and rep.reaches(fail_on):
        raise FindingsAtSeverity(f"findings at severity {fail_on} or above: {rep.max_severity()}")
