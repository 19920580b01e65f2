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
    """Each saved query's median time to its answer (the Arrow table that the report, the
    gate and notebooks read), and, apart, to its answer as Python dictionaries
    (``QueryResult.rows``), which costs about a microsecond per value."""
    answered: dict[str, object] = {}
    as_python: dict[str, object] = {}
    rows: dict[str, int] = {}
    with Lake.open(lake_dir) as lake:
        for query in select_queries():

            def answer(q: SavedQuery = query) -> None:
                rows[q.name] = run_query(lake, q, now=now).count

            def dictionaries(q: SavedQuery = query) -> None:
                rows[q.name] = len(run_query(lake, q, now=now).rows)

            answered[query.name] = median_seconds(answer, repeat)
            as_python[query.name] = median_seconds(dictionaries, repeat)
    return {"medians": answered, "python_rows": as_python, "rows": rows, "peak_bytes": peak_rss()}


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
