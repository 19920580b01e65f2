"""Timed in a process of its own, so that its peak memory is its own: the saved queries or the
full report over a lake. Prints one JSON object.

    python -m benchmarks.measure.child queries LAKE NOW REPEAT
    python -m benchmarks.measure.child report LAKE NOW
    python -m benchmarks.measure.child processes TRUST JOBS

``processes``: the memory of a crawl's processes before they read a document (target 6's
floor): this process imports what ``attestlake crawl`` imports and loads the trust policy, then
starts the crawl's workers as a crawl does once it has seen enough units, and their memory is
read once they have started (PSS: shared pages counted once across the processes).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.measure.figures import median_seconds
from benchmarks.measure.memory import peak_rss

if TYPE_CHECKING:
    from attestlake.audit.query_files import SavedQuery


def queries(lake_dir: Path, now: datetime, repeat: int) -> dict[str, object]:
    """Each saved query's median time to its answer (the Arrow table that the report, the
    gate and notebooks read), and, apart, to its answer as Python dictionaries
    (``QueryResult.rows``), which costs about a microsecond per value."""
    from attestlake.audit.queries import run_query
    from attestlake.audit.report import select_queries
    from attestlake.lake.lake import Lake

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
    from attestlake.audit.report import run_report
    from attestlake.lake.lake import Lake

    started = time.perf_counter()
    with Lake.open(lake_dir) as lake:
        result = run_report(lake, now=now)
    return {
        "seconds": time.perf_counter() - started,
        "findings": sum(r.findings for r in result.results),
        "peak_bytes": peak_rss(),
    }


def processes(trust: Path, jobs: int) -> dict[str, object]:
    import psutil

    import attestlake._cli.crawling  # noqa: F401 - the crawl command, as typer runs it
    from attestlake.crawl.crawl import crawl  # noqa: F401 - the crawl and the lake's writer
    from attestlake.crawl.inspection import Inspector
    from attestlake.verify.verify import load_policy

    with Inspector(load_policy(trust), datetime.now(UTC), jobs) as inspector:
        inspector._start_workers()  # what a crawl does once it has seen enough units
        if not inspector.started(300):
            raise RuntimeError("the workers did not start")
        time.sleep(1.0)  # the workers' first pages settled
        me = psutil.Process()
        command = me.memory_full_info().pss
        others = {p.pid: p.memory_full_info().pss for p in me.children(recursive=True)}
    return {"command": command, "others": sum(others.values()), "processes": 1 + len(others)}


def main(argv: list[str]) -> None:
    if argv[0] == "processes":
        print(json.dumps(processes(Path(argv[1]), int(argv[2]))))
        return
    what, lake_dir, now = argv[0], Path(argv[1]), datetime.fromisoformat(argv[2])
    if what == "queries":
        print(json.dumps(queries(lake_dir, now, int(argv[3]))))
    else:
        print(json.dumps(report(lake_dir, now)))


if __name__ == "__main__":
    main(sys.argv[1:])
