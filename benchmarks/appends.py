"""A crawl's appends to tables kept open, against tables opened again every few commits.

The crawler appends each batch to every table it has rows for, one Delta commit each, through
:class:`attestlake.lake.write.Appender`. This appends the same batches of random digests to five
of the lake's tables, in a process of its own for each way of keeping them, and prints the
process's resident memory as the batches go, and the time they took:

    .venv/bin/python -m benchmarks.appends --batches 600
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure.memory import rss

TABLES = ("runs", "run_events", "subjects", "materials", "verifications")
ROWS = 800
EVERY = 100  # batches between two memory readings
MIB = 1024 * 1024


def _child(batches: int, reopen_after: int, lake: Path) -> None:
    """Append ``batches`` batches and print ``BATCH RSS`` lines, then ``seconds S``."""
    import pyarrow as pa

    from attestlake.lake import write
    from attestlake.lake.tables import BY_NAME

    write.REOPEN_AFTER = reopen_after
    write.create_tables(lake)
    data = {}
    for name in TABLES:
        schema = BY_NAME[name].schema
        columns = [
            pa.array([f"sha256:{os.urandom(32).hex()}" for _ in range(ROWS)], field.type)
            if pa.types.is_string(field.type)
            else pa.nulls(ROWS, field.type)
            for field in schema
        ]
        data[name] = pa.Table.from_arrays(columns, schema=schema)
    trim = ctypes.CDLL("libc.so.6").malloc_trim
    appender = write.Appender(lake)
    print(f"0 {rss() // MIB}", flush=True)
    started = time.perf_counter()
    for batch in range(1, batches + 1):
        for name in TABLES:
            appender.append(BY_NAME[name], data[name])
        if batch % EVERY == 0:
            gc.collect()
            trim(0)  # what the crawler does between batches
            print(f"{batch} {rss() // MIB}", flush=True)
    print(f"seconds {time.perf_counter() - started:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=600, help="batches to append (600)")
    parser.add_argument(
        "--child", nargs=2, metavar=("REOPEN_AFTER", "LAKE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        _child(args.batches, int(args.child[0]), Path(args.child[1]))
        return
    from attestlake.lake.write import REOPEN_AFTER

    ways = {"kept open": 10**9, f"opened again every {REOPEN_AFTER} commits": REOPEN_AFTER}
    print(f"{args.batches} batches of {ROWS} rows to {len(TABLES)} tables ({', '.join(TABLES)})")
    for way, reopen_after in ways.items():
        with tempfile.TemporaryDirectory(prefix="attestlake-appends-") as folder:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.appends", "--batches", str(args.batches),
                 "--child", str(reopen_after), str(Path(folder) / "lake")],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
        lines = out.split()
        seconds = lines[lines.index("seconds") + 1]
        readings = [f"{b}: {m} MiB" for b, m in zip(lines[0:-2:2], lines[1:-2:2], strict=True)]
        print(f"{way}: {seconds} s; resident memory after batch {', '.join(readings)}")


if __name__ == "__main__":
    main()
