"""Measure the performance targets on a generated organisation; print each figure beside its
baseline (measured in the same run) and their ratio.

    benchmarks/run [--runs 10000] [--only NAME ...] [--dir DIR] [--repeat 5] [--jobs J]

The organisation is generated into DIR (default: attestlake-bench-RUNS in the temporary
directory) unless DIR already holds one of RUNS runs; the lake is DIR/lake, written by the
crawl target (and crawled first when another target needs it and it is missing). The figures
are also written to DIR/results.json. Every target is measured but those only measured when
named (``batches``: a first crawl for each ``--batch-memory`` bound).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.measure import targets
from benchmarks.measure.figures import HEADER, Figure
from benchmarks.measure.targets import READ_THE_LAKE, TARGETS, Bench
from benchmarks.organisation.generate import Generated, generate


def _organisation(directory: Path, runs: int, jobs: int | None) -> Generated:
    if (directory / "generated.json").is_file():
        made = Generated.load(directory)
        if made.runs == runs:
            print(f"using the organisation in {directory} ({made.runs:,} runs)")
            return made
    made = generate(directory, runs, jobs=jobs)
    print(
        f"generated {made.runs:,} runs in {made.seconds:.1f} s ({made.runs / made.seconds:,.0f}/s)"
    )
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run",
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the organisation")
    parser.add_argument(
        "--only", action="append", choices=sorted(TARGETS), help="measure only these targets"
    )
    parser.add_argument("--dir", type=Path, help="where the organisation is (or goes)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats for medians (5)")
    parser.add_argument("--jobs", type=int, help="worker processes (default: one per core)")
    args = parser.parse_args(argv)
    if args.runs < 12 or args.repeat < 1 or (args.jobs is not None and args.jobs < 1):
        parser.error("--runs must be at least 12, --repeat and --jobs at least 1")
    directory = args.dir or Path(tempfile.gettempdir()) / f"attestlake-bench-{args.runs}"
    try:
        made = _organisation(directory, args.runs, args.jobs)
    except ValueError as exc:
        parser.error(str(exc))
    bench = Bench(made, directory / "lake", args.repeat, args.jobs)
    chosen = targets.chosen(args.only)
    if "crawl" not in chosen and not bench.lake.is_dir() and READ_THE_LAKE & set(chosen):
        chosen.insert(0, "crawl")
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(HEADER)
    figures: list[Figure] = []
    for name in chosen:
        try:
            measured = TARGETS[name](bench)
        except RuntimeError as exc:  # a crawl that failed, a registry that cannot run
            print(f"error: target {name}: {exc}", file=sys.stderr)
            return 1
        for figure in measured:
            print(figure.row(), flush=True)
            figures.append(figure)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": made.runs,
        "cores": os.cpu_count(),
        "figures": [f.to_json() for f in figures],
    }
    (directory / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
