"""Timed in a process of its own, so that its peak memory is its own: the saved queries or the
full report over a lake. Prints one JSON object.

    python -m benchmarks.measure.child queries LAKE NOW REPEAT
    python -m benchmarks.measure.child report LAKE NOW
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

from attestlake.audit.queries import run_query
from attestlake.audit.query_files import SavedQuery
from attestlake.audit.report import run_report, select_queries
from attestlake.lake.lake import Lake
from benchmarks.measure.figures import median_seconds
from benchmarks.measure.memory import peak_rss


def queries(lake_dir: Path, now: datetime, repeat: int) -> dict[str, object]:
    out: dict[str, object] = {}
    rows: dict[str, int] = {}
    with Lake.open(lake_dir) as lake:
        for query in select_queries():

            def once(q: SavedQuery = query) -> None:
                rows[q.name] = len(run_query(lake, q, now=now).rows)

            out[query.name] = median_seconds(once, repeat)
    return {"medians": out, "rows": rows, "peak_bytes": peak_rss()}


def report(lake_dir: Path, now: datetime) -> dict[str, object]:
    started = time.perf_counter()
    with Lake.open(lake_dir) as lake:
        result = run_report(lake, now=now)
    return {
        "seconds": time.perf_counter() - started,
        "findings": sum(r.findings for r in result.results),
        "peak_bytes": peak_rss(),
    }


def main(argv: list[str]) -> None:
    what, lake_dir, now = argv[0], Path(argv[1]), datetime.fromisoformat(argv[2])
    if what == "queries":
        print(json.dumps(queries(lake_dir, now, int(argv[3]))))
    else:
        print(json.dumps(report(lake_dir, now)))


if __name__ == "__main__":
    main(sys.argv[1:])
