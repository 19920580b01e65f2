"""The lake's upkeep: ``lake check`` (diagnosis of damage), ``lake compact``, ``lake vacuum``
and ``lake export`` (plain Parquet)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli.app import LakeOpt, app, command_group
from attestlake._cli.choices import EXPORT_FORMAT, VERDICT_FORMAT
from attestlake._cli.console import echo

lake_app = command_group("Check, compact, vacuum and export a lake.")
app.add_typer(lake_app, name="lake")


@lake_app.command("check")
def lake_check(
    lake: LakeOpt,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="Output format: table or json.", callback=VERDICT_FORMAT
        ),
    ] = "table",
) -> None:
    """Diagnose the lake: every table's log and data files, read in full, and the rows of each
    crawl against what the crawl journal records it wrote.

    Exits 0 when the lake is healthy, 1 when it is damaged: each problem names the table and
    file, and the repair (docs/lake.md, Damage and repair).
    """
    import pyarrow as pa

    from attestlake.lake.consistency import check
    from attestlake.lake.location import require_lake
    from attestlake.lake.object_store import lake_root
    from attestlake.lake.render import text_table

    root = lake_root(lake)
    require_lake(root)
    health = check(root)
    if fmt == "json":
        doc = {
            "lake": str(lake),
            "healthy": health.healthy,
            "tables": [vars(t) for t in health.tables],
            "problems": [vars(p) for p in health.problems],
            "leftovers": [vars(p) for p in health.leftovers],
        }
        echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        rows = [
            {
                "table": t.name,
                "version": "absent" if not t.present else str(t.version),
                "files": "" if t.files is None else str(t.files),
                "rows": "" if t.rows is None else str(t.rows),
            }
            for t in health.tables
        ]
        schema = pa.schema([(c, pa.string()) for c in ("table", "version", "files", "rows")])
        echo(text_table(pa.Table.from_pylist(rows, schema=schema)))
        for problem in health.problems:
            echo(f"damaged: {problem.describe()}")
        for repair in dict.fromkeys(p.repair for p in health.problems):
            echo(f"repair: {repair}")
        for leftover in health.leftovers:
            echo(
                f"note: {leftover.file}: in no log entry, the leftover of a write killed before "
                "its commit (the journal accounts for every row): it can be deleted"
            )
    if health.problems:
        echo(f"the lake {lake} is damaged: {len(health.problems)} problem(s)", err=True)
        raise typer.Exit(code=1)
    echo(f"the lake {lake} is healthy", err=True)


@lake_app.command("compact")
def lake_compact(lake: LakeOpt) -> None:
    """Compact the lake's tables into large files and delete superseded files (vacuum); the
    same as 'attestlake compact'."""
    from attestlake._cli.crawling import compact

    compact(lake)


@lake_app.command("vacuum")
def lake_vacuum(
    lake: LakeOpt,
    retain: Annotated[
        int,
        typer.Option(
            "--retain",
            min=0,
            help="Keep the files of the snapshots of the last HOURS hours (time travel to "
            "them keeps working); 0 keeps the current snapshot only.",
            metavar="HOURS",
        ),
    ] = 168,
) -> None:
    """Delete data files no recent snapshot needs (Delta vacuum), under the writer lock: safe
    while crawlers run (they wait their turn)."""
    from attestlake.lake.location import require_lake
    from attestlake.lake.object_store import lake_root
    from attestlake.lake.write import vacuum

    root = lake_root(lake)
    require_lake(root)
    for name, removed in vacuum(root, retain).items():
        echo(f"{name}: {removed} file(s) deleted")


@lake_app.command("export")
def lake_export(
    lake: LakeOpt,
    directory: Annotated[
        Path, typer.Argument(help="A new (or empty) directory for the Parquet files.")
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="Export format: parquet (the only one).", callback=EXPORT_FORMAT
        ),
    ] = "parquet",
) -> None:
    """Export the lake's current snapshot as plain Parquet, one folder per table with every
    column in its files, for tools that read no Delta (read_parquet('DIR/runs/*.parquet'))."""
    from attestlake.lake.export import export_parquet
    from attestlake.lake.object_store import lake_root

    done = export_parquet(lake_root(lake), directory)
    for name, rows in done.rows.items():
        echo(f"{name}: {rows} row(s)")
    echo(f"exported to {done.directory}", err=True)
