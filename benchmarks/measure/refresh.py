"""Target 6, the part of it at a crawl's end: computing the maintained tables of a whole lake
(:func:`attestlake.lake.maintain.refresh`) in the session bounded to
:data:`~attestlake.lake.session_memory.WORK_MEMORY`, against the same work with DuckDB's
default bound (most of the machine's memory), each in a fresh process of its own on its own
copy of the lake, every maintained table removed first so that each is computed.

    python -m benchmarks.measure.refresh LAKE [--repeat 2] [--bounded-only]

Prints, for each, the seconds and the process's peak resident memory (``VmHWM``, imports
included), and which tables did not fit in the bound at once (computed in parts, or again within
a wider bound or without one). ``--bounded-only``: not the default bound (at a million runs
DuckDB took 10 GB without one).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure.memory import peak_rss

MIB = 2**20


def _refresh(lake: Path, limit: str | None) -> dict[str, object]:
    """In this process: refresh every maintained table of ``lake`` (a copy: they are removed)."""
    from attestlake.lake.maintain import refresh
    from attestlake.lake.maintained_views import MAINTAINED
    from attestlake.lake.write import writer_lock

    for maintained in MAINTAINED:
        shutil.rmtree(lake / maintained.name, ignore_errors=True)
    unfit: list[str] = []

    class _Unfit(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "does not fit" in message:
                unfit.append(message.removeprefix("maintained table "))

    log = logging.getLogger("attestlake.lake.maintain")
    log.setLevel(logging.INFO)
    log.addHandler(_Unfit(logging.INFO))
    started = time.perf_counter()
    with writer_lock(lake):
        written = refresh(lake, memory_limit=limit)
    return {
        "seconds": time.perf_counter() - started,
        "peak": peak_rss(),
        "tables": len(written),
        "unfit": unfit,
    }


def _child(lake: Path, limit: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="attestlake-refresh-") as scratch:
        copy = Path(scratch) / "lake"
        shutil.copytree(lake, copy)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.measure.refresh", "--child", str(copy)]
            + ([] if limit is None else ["--limit", limit]),
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lake", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--bounded-only", action="store_true", help="not DuckDB's default bound")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_refresh(args.lake.resolve(), args.limit)))
        return
    from attestlake.lake.session_memory import WORK_MEMORY

    print(f"maintained tables of {args.lake}, each computed in a process of its own")
    for _ in range(args.repeat):
        ways = [(f"bounded ({WORK_MEMORY})", WORK_MEMORY), ("DuckDB default", None)]
        for label, limit in ways[:1] if args.bounded_only else ways:
            got = _child(args.lake, limit)
            print(
                f"{label:20s} {got['tables']} tables  {got['seconds']:6.1f} s  "
                f"peak {int(got['peak']) / MIB:7.0f} MiB  did not fit: {got['unfit'] or 'none'}"
            )


if __name__ == "__main__":
    main()
