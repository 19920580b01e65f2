"""What a lake's files cost its readers and what merging them costs the crawl.

``open LAKE``: a lake session opened on LAKE, in this process, within the refresh's bound and
without a bound, each in a process of its own: its resident memory after the imports, after
the tables' logs are read, once every table's view is bound, and the MiB DuckDB's object
cache (each data file's footer) holds; with the live data files of the lake.

``merge LAKE TABLE [TABLE ...]``: the rows of TABLE in LAKE (a crawled lake) appended as
:data:`~attestlake.lake.write.MERGE_AFTER` batches to a new lake, then, in a process of its
own, the last append, which merges them: its resident memory before and its peak after, and
the seconds it took. Every table here is merged, the ones a crawl does not merge included::

    .venv/bin/python -m benchmarks.lake_files open /tmp/attestlake-bench-1000000/lake
    .venv/bin/python -m benchmarks.lake_files merge /tmp/attestlake-bench-100000/lake runs
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure.memory import peak_rss, rss

MiB = 1024 * 1024


def _open(lake: Path, bounded: bool) -> dict[str, object]:
    from attestlake.lake import lake as session
    from attestlake.lake.delta import intact_tables
    from attestlake.lake.session_memory import WORK_MEMORY, spilling
    from attestlake.lake.tables import TABLES

    imports = rss()
    bounding = spilling(WORK_MEMORY, any_order=True) if bounded else contextlib.nullcontext()
    with bounding as memory:
        live = intact_tables(lake.resolve())
        logs = rss()
        con = session._connect(memory)
        one = session._one_schema(con, live)
        views = [session.table_view(t, live.get(t.name, ()), t.name in one) for t in TABLES]
        con.execute(";\n".join(views))
        bound = rss()
        cache = con.sql(
            "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
            "WHERE tag = 'OBJECT_CACHE'"
        ).fetchall()[0][0]
        con.close()
    return {
        "bound": WORK_MEMORY if bounded else "none",
        "files": sum(len(files) for files in live.values()),
        "imports": imports // MiB,
        "logs read": logs // MiB,
        "views bound": bound // MiB,
        "object cache": int(cache) // MiB,
    }


def _prepare(lake: Path, name: str, into: Path) -> None:
    """Append the rows of ``name`` as MERGE_AFTER - 1 batches to a new lake at ``into``."""
    from deltalake import DeltaTable

    from attestlake.lake import write
    from attestlake.lake.tables import BY_NAME

    table, rows = BY_NAME[name], DeltaTable(str(lake / name)).to_pyarrow_table()
    write.create_tables(into)
    appender = write.Appender(into)
    for i in range(write.MERGE_AFTER - 1):
        start, end = _part(rows.num_rows, i)
        appender.append(table, rows.slice(start, end - start))


def _part(rows: int, i: int) -> tuple[int, int]:
    """Where the ``i``-th of MERGE_AFTER nearly equal parts of ``rows`` rows starts and ends
    (none empty when there are MERGE_AFTER rows or more)."""
    from attestlake.lake.write import MERGE_AFTER

    return i * rows // MERGE_AFTER, (i + 1) * rows // MERGE_AFTER


def _merge(lake: Path, name: str, into: Path) -> dict[str, object]:
    """The last append to ``into``, which merges: memory before it, peak after it."""
    import pyarrow as pa
    from deltalake import DeltaTable

    from attestlake.lake import write
    from attestlake.lake.tables import BY_NAME

    table, source = BY_NAME[name], DeltaTable(str(lake / name)).to_pyarrow_dataset()
    skip, kept = _part(source.count_rows(), write.MERGE_AFTER - 1)[0], []
    for batch in source.to_batches(batch_size=1024):
        if batch.num_rows > skip:
            kept.append(batch.slice(skip))
        skip = max(0, skip - batch.num_rows)
    last = pa.Table.from_batches(kept, schema=source.schema)
    write.merges = lambda _: True  # type: ignore[assignment]  # the tables a crawl does not merge too
    before, started = rss(), time.perf_counter()
    write.Appender(into).append(table, last)
    seconds = time.perf_counter() - started
    history = [c["operation"] for c in DeltaTable(str(into / name)).history()]
    return {
        "table": name,
        "before": before // MiB,
        "peak": peak_rss() // MiB,
        "seconds": round(seconds, 2),
        "merged": history.count("OPTIMIZE"),
        "files": len(DeltaTable(str(into / name)).file_uris()),
    }


def _child(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.lake_files", "_child", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.lake_files", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    opening = sub.add_parser("open")
    opening.add_argument("lake", type=Path)
    merging = sub.add_parser("merge")
    merging.add_argument("lake", type=Path)
    merging.add_argument("tables", nargs="+")
    child = sub.add_parser("_child")
    child.add_argument("args", nargs="+")
    args = parser.parse_args(argv)
    if args.what == "_child":
        what, lake, *rest = args.args
        if what == "open":
            print(json.dumps(_open(Path(lake), rest == ["bounded"])))
        elif what == "prepare":
            _prepare(Path(lake), rest[0], Path(rest[1]))
            print("{}")
        else:
            print(json.dumps(_merge(Path(lake), rest[0], Path(rest[1]))))
        return 0
    if args.what == "open":
        for how in ("bounded", "unbounded"):
            print(_child("open", str(args.lake), how))
        return 0
    for name in args.tables:
        with tempfile.TemporaryDirectory(prefix="attestlake-merge-") as scratch:
            into = Path(scratch) / "lake"
            _child("prepare", str(args.lake), name, str(into))
            print(_child("merge", str(args.lake), name, str(into)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
