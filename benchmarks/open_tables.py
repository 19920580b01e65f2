"""What an opened lake table holds for each of its files, with the statistics of every
column, without those of its documents and free text, and with the log's for the columns files
are selected by alone.

A crawl keeps each table it appends to open (:class:`attestlake.lake.write.Appender`), and
every lake session reads each table's log; delta-rs holds every live file's entry of the log,
with its statistics. This takes one batch of real rows of each table named from a crawled
lake, appends it ``--files`` times to a new table in each of three ways (statistics on every
column; the lake's Parquet settings, documents and free text without statistics; those, and
the lake's table properties, the log's statistics for :attr:`Table.log_statistics` alone),
then opens each table in a process of its own and prints what opening it added to the
process's resident memory, per file, and the bytes of its log per file:

    .venv/bin/python -m benchmarks.open_tables LAKE --files 400
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure.memory import rss

TABLES = ("attestations", "provenance", "runs", "sbom_components", "verifications")


def _opened(location: str) -> None:
    """Print the KiB of resident memory opening the table at ``location`` added, and its
    live files (the runtime of delta-rs is started on another table first)."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    with tempfile.TemporaryDirectory() as warm:
        write_deltalake(warm, pa.table({"x": [1]}))
        DeltaTable(warm).file_uris()
    before = rss()
    table = DeltaTable(location)
    files = len(table.file_uris())
    print((rss() - before) // 1024, files)


def _batch(lake: Path, name: str) -> object:
    """The rows of the first file of ``name`` in the lake at ``lake``."""
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    first = sorted(DeltaTable(str(lake / name)).file_uris())[0]
    return pq.read_table(first)


#: The ways a table is written: (Parquet settings with every column's statistics, table
#: properties of the lake).
WAYS = {
    "every column with statistics": (True, False),
    "documents without": (False, False),
    "the lake's (and the log's for selected columns)": (False, True),
}


def _build(location: Path, rows: Any, name: str, files: int, way: tuple[bool, bool]) -> None:
    from deltalake import write_deltalake

    from attestlake.lake.file_layout import table_properties, writer_properties
    from attestlake.lake.tables import BY_NAME

    statistics, properties = way
    table = BY_NAME[name]
    # the lake's settings, or the same with statistics on every column (no table's own)
    settings = writer_properties(None if statistics else table)
    configuration = table_properties(table) if properties else None
    write_deltalake(str(location), rows, writer_properties=settings, configuration=configuration)
    for _ in range(files - 1):
        write_deltalake(str(location), rows, mode="append", writer_properties=settings)


def _log_bytes(location: Path) -> int:
    return sum(p.stat().st_size for p in (location / "_delta_log").iterdir() if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lake", nargs="?", type=Path, help="a crawled lake (its rows are used)")
    parser.add_argument("--files", type=int, default=400, help="files per table (400)")
    parser.add_argument("--opened", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.opened:
        _opened(args.opened)
        return
    if args.lake is None:
        parser.error("the lake to take rows from is required")
    print(
        f"{args.files} files a table, each one batch of the lake's rows; opened in a process of its own"
    )
    for name in TABLES:
        rows = _batch(args.lake, name)
        line = [f"{name} ({rows.num_rows} rows a file):"]  # type: ignore[attr-defined]
        for way, settings in WAYS.items():
            with tempfile.TemporaryDirectory(prefix="attestlake-open-") as folder:
                location = Path(folder) / name
                _build(location, rows, name, args.files, settings)
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.open_tables", "--opened", str(location)],
                    check=True, capture_output=True, text=True,
                ).stdout.split()  # fmt: skip
                kib, files = int(out[0]), int(out[1])
                per_file = _log_bytes(location) / files
                line.append(
                    f"{way}: {kib / files:.1f} KiB held, {per_file / 1024:.1f} KiB of log a file"
                )
        print(" ".join(line), flush=True)


if __name__ == "__main__":
    main()
