"""The targets ``benchmarks/run`` measures, each against a baseline measured in the same run.

Each function takes the :class:`Bench` (the generated organisation, its lake, how many
repeats) and returns its figures. ``crawl`` writes the lake the others read; ``size`` compacts
it, so it runs last.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from attestlake.lake.session_memory import WORK_MEMORY
from benchmarks.measure import bundles as bundle_bench
from benchmarks.measure import floor
from benchmarks.measure import floors as floor_bench
from benchmarks.measure import listing as listing_bench
from benchmarks.measure import registry as registry_bench
from benchmarks.measure.figures import Figure, median_seconds
from benchmarks.measure.memory import TreeRun, run_sampled
from benchmarks.measure.rawscan import scan
from benchmarks.organisation.generate import Generated

MIB = 2**20
ATTESTLAKE = [sys.executable, "-m", "attestlake._cli"]
#: Runs of the slice pushed to the registry for target 5.
REGISTRY_RUNS = 2000


@dataclass(frozen=True)
class Bench:
    generated: Generated
    lake: Path
    repeat: int
    jobs: int | None

    @property
    def runs(self) -> int:
        return self.generated.runs


def _child(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure.child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def crawl(bench: Bench) -> list[Figure]:
    """Target 3 (rate against the signature floor) and 6 (peak memory of the process tree)."""
    store = bench.generated.store
    items = floor.collect(store)
    public = (Path(bench.generated.directory) / "keys" / "ci.pub").read_bytes()
    per_second = floor.verifications_per_second(items, public, bench.jobs)
    shutil.rmtree(bench.lake, ignore_errors=True)
    run, summary = _first_crawl(bench, bench.lake)
    documents = int(summary["documents"])
    rate = documents / run.seconds
    return [
        Figure(
            "3 crawl rate (documents/s)",
            rate,
            "doc/s",
            per_second,
            "ECDSA verifications/s",
            rate / per_second,
            ">= 0.33x the floor",
            rate / per_second >= 1 / 3,
        ),
        _peak_memory("6 crawl peak memory, main + workers (PSS)", run),
    ]


def _first_crawl(bench: Bench, lake: Path, *extra: str) -> tuple[TreeRun, dict[str, object]]:
    """``attestlake crawl`` of the organisation into ``lake`` (new), sampled; and its summary."""
    command = [*ATTESTLAKE, "crawl", "--from", f"oci:{bench.generated.store}", "--lake", str(lake)]
    command += ["--trust", str(bench.generated.trust_policy), "--json", *extra]
    command += ["--jobs", str(bench.jobs)] if bench.jobs else []
    run = run_sampled(command)
    if run.returncode != 0:
        raise RuntimeError(f"the crawl failed ({run.returncode}):\n{run.output[-2000:]}")
    summary: dict[str, object] = json.loads(run.output[run.output.index("{") :])
    return run, summary


#: The bounds ``batches`` crawls with, the crawl's default first.
BATCH_MEMORY = ("64M", "32M", "16M", "8M")


def batches(bench: Bench) -> list[Figure]:
    """Target 6 against ``--batch-memory``: a first crawl of the organisation with each bound
    of :data:`BATCH_MEMORY` in turn, its peak (PSS of the tree) and time against the
    default's, measured in the same run."""
    figures: list[Figure] = []
    first: TreeRun | None = None
    for size in BATCH_MEMORY:
        with tempfile.TemporaryDirectory(prefix="attestlake-batches-") as folder:
            run, summary = _first_crawl(bench, Path(folder) / "lake", "--batch-memory", size)
        first = first or run
        written = f"{summary['batches']} batches"
        figures += [
            Figure(
                f"6 crawl peak, --batch-memory {size}",
                run.peak_tree_bytes / MIB,
                "MiB",
                first.peak_tree_bytes / MIB,
                f"MiB at {BATCH_MEMORY[0]}",
                run.peak_tree_bytes / first.peak_tree_bytes,
                f"< 400 MB ({written})",
                run.peak_tree_bytes < 400e6,
            ),
            Figure(
                f"6 crawl time, --batch-memory {size}",
                run.seconds,
                "s",
                first.seconds,
                f"s at {BATCH_MEMORY[0]}",
                run.seconds / first.seconds,
                "the time it costs",
                None,
            ),
        ]
    return figures


def _peak_memory(name: str, run: TreeRun) -> Figure:
    """Target 6: the peak memory of a command and its workers, against the goal."""
    return Figure(
        name,
        run.peak_tree_bytes / MIB,
        "MiB",
        run.peak_main_bytes / MIB,
        "MiB main process alone",
        None,
        "< 400 MB, flat in N",
        run.peak_tree_bytes < 400e6,
    )


def recrawl(bench: Bench) -> list[Figure]:
    """Target 6 for the crawl a schedule runs every day: the same store again, into (a copy
    of) the lake its first crawl made, with nothing new to read, after one such crawl. Its
    memory is what the crawl reads of the lake and of the store before it writes."""
    with tempfile.TemporaryDirectory(prefix="attestlake-recrawl-") as folder:
        lake = Path(folder) / "lake"
        shutil.copytree(bench.lake, lake)
        command = [*ATTESTLAKE, "crawl", "--from", f"oci:{bench.generated.store}"]
        command += ["--lake", str(lake), "--trust", str(bench.generated.trust_policy), "--json"]
        # The first brings the maintained tables up to this version's definitions (a lake
        # written by an older version has some stale); the second is a day's crawl.
        subprocess.run(command, check=True, capture_output=True)
        run = run_sampled(command)
    if run.returncode != 0:
        raise RuntimeError(f"the crawl failed ({run.returncode}):\n{run.output[-2000:]}")
    summary = json.loads(run.output[run.output.index("{") :])
    return [
        _peak_memory(f"6 re-crawl, {int(summary['already_known']):,} known, peak (PSS)", run),
        Figure("6 re-crawl, nothing new", run.seconds, "s", None, "", None, "", None),
    ]


def listing(bench: Bench) -> list[Figure]:
    """Target 6, the layout's index: listing every manifest of the store against reading its
    ``index.json`` whole (:mod:`benchmarks.measure.listing`)."""
    return listing_bench.figures(bench.generated.store)


def queries(bench: Bench) -> list[Figure]:
    """Target 2: every saved query's median time to its answer against the raw-JSON scan's,
    the slowest one's answer as Python dictionaries (beside, no goal), and peak memory."""
    scanned = median_seconds(lambda: scan(bench.generated.store), bench.repeat)
    now = bench.generated.now
    measured = _child("queries", str(bench.lake), now, str(bench.repeat))
    medians: dict[str, float] = measured["medians"]  # type: ignore[assignment]
    out = [
        Figure(
            f"2 query {name}",
            seconds,
            "s",
            scanned,
            "s raw-JSON scan",
            scanned / seconds,
            ">= 100x and < 1 s",
            scanned / seconds >= 100 and seconds < 1,
        )
        for name, seconds in medians.items()
    ]
    as_python: dict[str, float] = measured["python_rows"]  # type: ignore[assignment]
    slowest = max(as_python, key=lambda name: as_python[name])
    out.append(
        Figure(
            f"2 query {slowest}, its answer as Python dicts (.rows)",
            as_python[slowest],
            "s",
            None,
            "",
            None,
            f"{measured['rows'][slowest]:,} rows",  # type: ignore[index]
            None,
        )
    )
    peak = int(measured["peak_bytes"]) / MIB  # type: ignore[call-overload]
    out.append(Figure("2 queries peak memory", peak, "MiB", None, "", None, "< 2 GB", peak < 2000))
    return out


def report(bench: Bench) -> list[Figure]:
    """Target 2: the full report's time and peak memory (against the raw-JSON scan)."""
    scanned = median_seconds(lambda: scan(bench.generated.store), 1)
    measured = _child("report", str(bench.lake), bench.generated.now)
    seconds = float(measured["seconds"])  # type: ignore[arg-type]
    peak = int(measured["peak_bytes"]) / MIB  # type: ignore[call-overload]
    at_scale = bench.runs >= 1_000_000
    return [
        Figure(
            "2 full report",
            seconds,
            "s",
            scanned,
            "s raw-JSON scan",
            scanned / seconds,
            "< 10 s at 1M runs" + ("" if at_scale else f" (not judged at {bench.runs:,})"),
            seconds < 10 if at_scale else None,
        ),
        Figure("2 full report peak memory", peak, "MiB", None, "", None, "< 2 GB", peak < 2000),
    ]


def _paired(a: list[str], b: list[str], repeat: int) -> tuple[float, float, float]:
    """Medians of A's and B's wall time, run in turn, and the median of the pairs' ratios."""
    times: list[tuple[float, float]] = []
    for _ in range(repeat + 1):
        pair = []
        for command in (a, b):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            pair.append(time.perf_counter() - started)
        times.append((pair[0], pair[1]))
    times = times[1:]  # the first pair warms the file cache
    return (
        statistics.median(t[0] for t in times),
        statistics.median(t[1] for t in times),
        statistics.median(t[0] / t[1] for t in times),
    )


_CONTRACT = """\
apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: start-up
  revision: 1
spec:
  materials: []
"""


def help_start(bench: Bench) -> list[Figure]:
    """Target 7: ``attestlake --help``, ``attestlake attest --help`` and one collector step
    (``attestlake attest status`` of a run in progress, which reads its state and contract)
    against ``python -c pass``. attestlake's bytecode is compiled first, as an installed wheel
    has it: a checkout run with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every
    module it imports on every start."""
    import attestlake

    compileall.compile_dir(Path(attestlake.__file__).parent, quiet=1)
    out = []
    script = str(Path(sys.executable).with_name("attestlake"))
    with tempfile.TemporaryDirectory(prefix="attestlake-start-") as folder:
        work = Path(folder)
        (work / "contract.yaml").write_text(_CONTRACT, encoding="utf-8")
        state = work / "attestation.json"
        out.extend(_start_up(script, state, work / "contract.yaml", 2 * bench.repeat))
    return out


def _start_up(script: str, state: Path, contract: Path, repeat: int) -> list[Figure]:
    out = []
    subprocess.run(
        [
            script,
            "attest",
            "init",
            "--dry-run",
            "--contract",
            str(contract),
            "--workflow",
            "start-up",
            "--project",
            "bench",
            "--state",
            str(state),
        ],
        check=True,
        capture_output=True,
    )
    commands = {
        "attestlake --help": [script, "--help"],
        "attestlake attest --help": [script, "attest", "--help"],
        "attestlake attest status": [script, "attest", "status", "--state", str(state)],
    }
    for name, command in commands.items():
        a, b, ratio = _paired(command, [sys.executable, "-c", "pass"], repeat)
        out.append(Figure(f"7 {name}", a, "s", b, "s python -c pass", ratio, "< 3x", ratio < 3))
    return out


def _bytes_under(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def size(bench: Bench) -> list[Figure]:
    """Target 8: the lake after ``attestlake lake compact`` against the signed statements'
    bytes (DSSE envelopes and Sigstore bundles)."""
    _compact(bench.lake)
    lake = _bytes_under(bench.lake)
    raw = bench.generated.signed_bytes
    return [
        Figure(
            "8 lake size after compaction",
            lake / MIB,
            "MiB",
            raw / MIB,
            "MiB of signed statements",
            lake / raw,
            "<= 0.15 of the statements",
            lake <= 0.15 * raw,
        )
    ]


def registry(bench: Bench) -> list[Figure]:
    """Target 5: the crawl's reads from a registry against a minimal concurrent client, over a
    slice of the organisation pushed to a local ``docker-registry``: the rate, and the CPU
    this process spent (the registry shares the machine, so the CPU says what the client
    costs when the registry is not what limits)."""
    runs = min(bench.runs, REGISTRY_RUNS)
    with registry_bench.Registry(bench.lake.parent, runs) as served:  # --dir
        fetchers: dict[str, Callable[[], registry_bench.Fetched]] = {
            "minimal": lambda: registry_bench.minimal_fetch(served.url),
            "crawl": lambda: registry_bench.crawl_fetch(served.host),
        }
        passes: dict[str, list[registry_bench.Pass]] = {name: [] for name in fetchers}
        for _ in range(bench.repeat):
            for name, fetch in fetchers.items():
                passes[name].append(registry_bench.timed(fetch))
    minimal, crawled = (passes[n] for n in ("minimal", "crawl"))
    if crawled[-1].read.blobs != minimal[-1].read.blobs or crawled[-1].read.manifests < runs:
        raise RuntimeError(f"the two clients read different things: {minimal[-1]}, {crawled[-1]}")
    rate = statistics.median(p.rate for p in crawled)
    base_rate = statistics.median(p.rate for p in minimal)
    cpu = statistics.median(p.cpu_ms for p in crawled)
    base_cpu = statistics.median(p.cpu_ms for p in minimal)
    threads = f"{registry_bench.THREADS} threads"
    return [
        Figure(
            f"5 registry fetch ({runs:,} runs)",
            rate,
            "man/s",
            base_rate,
            f"man/s minimal client, {threads}",
            rate / base_rate,
            ">= 0.8x the minimal client",
            rate / base_rate >= 0.8,
        ),
        Figure(
            "5 registry fetch, client CPU per manifest",
            cpu,
            "ms",
            base_cpu,
            "ms minimal client",
            base_cpu / cpu,
            "(the client's cost alone)",
            None,
        ),
    ]


def sigstore(bench: Bench) -> list[Figure]:
    """Target 4: ``attestlake crawl`` (the whole command) of a folder of Sigstore bundles
    against a single-threaded sigstore-python loop over the same bundles in this process,
    run in turn ``--repeat`` times (medians); both must count the same bundles verified.
    Their CPU time too: on a shared machine the rate follows what else runs."""
    store = bundle_bench.bundle_store(bench.generated)
    raw = store.raw_bundles()
    lake = Path(store.directory) / "lake"
    command = [*ATTESTLAKE, "crawl", "--from", str(store.folder), "--lake", str(lake)]
    command += ["--trust", str(store.trust_policy), "--json"]
    command += ["--jobs", str(bench.jobs)] if bench.jobs else []
    bundle_bench.loop(store, raw[:20])  # sigstore imported, the files in the page cache
    crawled: list[TreeRun] = []
    looped: list[bundle_bench.Looped] = []
    outcomes: set[tuple[int, int]] = set()
    for _ in range(bench.repeat):
        looped.append(bundle_bench.loop(store, raw))
        shutil.rmtree(lake, ignore_errors=True)
        run = run_sampled(command, memory=False)
        if run.returncode != 0:
            raise RuntimeError(f"the crawl failed ({run.returncode}):\n{run.output[-2000:]}")
        summary = json.loads(run.output[run.output.index("{") :])
        outcomes.add((int(summary["verified"]), int(summary["not_verified"])))
        crawled.append(run)
    shutil.rmtree(lake, ignore_errors=True)
    looped_outcomes = {(r.verified, r.not_verified) for r in looped}
    if len(outcomes) != 1 or looped_outcomes != outcomes:
        raise RuntimeError(
            f"different outcomes (verified, not verified): the crawl {sorted(outcomes)}, "
            f"the loop {sorted(looped_outcomes)}"
        )
    verified = outcomes.pop()[0]
    rate = len(raw) / statistics.median(r.seconds for r in crawled)
    base_rate = len(raw) / statistics.median(r.seconds for r in looped)
    cpu = 1000 * statistics.median(r.cpu_seconds for r in crawled) / len(raw)
    base_cpu = 1000 * statistics.median(r.cpu_seconds for r in looped) / len(raw)
    return [
        Figure(
            f"4 sigstore bundles ({len(raw):,}, {verified:,} verified)",
            rate,
            "bndl/s",
            base_rate,
            "bundles/s sigstore-python loop",
            rate / base_rate,
            ">= 2x the loop",
            rate / base_rate >= 2,
        ),
        Figure(
            "4 sigstore bundles, CPU per bundle",
            cpu,
            "ms",
            base_cpu,
            "ms sigstore-python loop",
            base_cpu / cpu,
            "(the crawl's processes, all of them)",
            None,
        ),
    ]


def _compact(lake: Path) -> None:
    subprocess.run(
        [*ATTESTLAKE, "lake", "compact", "--lake", str(lake)], check=True, capture_output=True
    )


#: The least a collector step that reads its state (JSON) into records (dataclasses) runs:
#: ``attest status`` makes ten record classes (the run, its materials, its contract's rules).
RECORDS_ONLY = """\
import dataclasses, json
for i in range(10):
    fields = {f"f{j}": "str" for j in range(6)}
    dataclasses.dataclass(frozen=True)(type(f"R{i}", (), {"__annotations__": fields, "__doc__": "."}))
"""


def floors(bench: Bench) -> list[Figure]:
    """What the unmet targets 3, 6, 7 and 8 leave room for: the least this design spends,
    beside the budget each target allows (see :mod:`benchmarks.measure.floors`)."""
    store, directory = bench.generated.store, Path(bench.generated.directory)
    public = (directory / "keys" / "ci.pub").read_bytes()
    cores = bench.jobs or os.cpu_count() or 1
    per_second = floor.verifications_per_second(floor.collect(store), public, bench.jobs)
    budget = cores / (per_second / 3)  # CPU seconds a document may take at 1/3 of the floor
    least = floor_bench.read_check_parse(store, public)
    idle = _child("processes", str(bench.generated.trust_policy), str(cores))
    idle_bytes = int(idle["command"]) + int(idle["others"])  # type: ignore[call-overload]
    start_a, start_b, start_ratio = _paired(
        [sys.executable, "-c", RECORDS_ONLY], [sys.executable, "-c", "pass"], 2 * bench.repeat
    )
    streams = floor_bench.kept_streams(store)
    _compact(bench.lake)
    kept = floor_bench.kept_columns(bench.lake)
    kept_bytes = sum(v for k, v in kept.items() if k != "*")
    allowed = 0.15 * bench.generated.signed_bytes
    compressed = streams.payload_bytes + streams.rest_bytes
    return [
        Figure(
            f"3 floor: read, check, parse, verify ({least.documents:,} doc)",
            1e6 * least.cpu_per_document,
            "us CPU",
            1e6 * budget,
            "us CPU a doc at 1/3 of the floor",
            least.cpu_per_document / budget,
            "share of the budget left to normalise and write: 1 - ratio",
            None,
        ),
        Figure(
            f"6 floor: the crawl's {idle['processes']} processes, no document",
            idle_bytes / MIB,
            "MiB",
            int(idle["command"]) / MIB,  # type: ignore[call-overload]
            "MiB the command alone",
            None,
            f"< 400 MB; the refresh then adds up to {WORK_MEMORY} to the command",
            None,
        ),
        Figure(
            "7 floor: json, dataclasses, ten record classes",
            start_a,
            "s",
            start_b,
            "s python -c pass",
            start_ratio,
            "< 3x for a step that reads its records",
            None,
        ),
        Figure(
            f"8 floor: {streams.documents:,} signed documents, one zstd-19 stream",
            compressed / MIB,
            "MiB",
            streams.raw_bytes / MIB,
            "MiB of those signed documents",
            compressed / streams.raw_bytes,
            "<= 0.15 for the whole lake",
            None,
        ),
        Figure(
            "8 floor: statements, documents' rest, SBOM components",
            kept_bytes / MIB,
            "MiB",
            allowed / MIB,
            "MiB: 0.15 of the signed statements",
            kept_bytes / allowed,
            f"the rest of the lake: {(kept['*'] - kept_bytes) / MIB:.1f} MiB",
            None,
        ),
    ]


TARGETS = {
    "crawl": crawl,
    "recrawl": recrawl,
    "listing": listing,
    "sigstore": sigstore,
    "queries": queries,
    "report": report,
    "help": help_start,
    "registry": registry,
    "size": size,
    "floors": floors,
    "batches": batches,
}
#: Targets measured only when named with ``--only``: ``batches`` crawls the organisation once
#: for each bound, hours at a million runs.
ON_REQUEST = frozenset({"batches"})
#: Targets that read the crawled lake (crawled first when it is missing).
READ_THE_LAKE = frozenset({"queries", "recrawl", "report", "size", "floors"})


def chosen(only: list[str] | None) -> list[str]:
    """The targets to measure, in :data:`TARGETS`' order: those named in ``only``, else every
    one but :data:`ON_REQUEST`."""
    return [
        name for name in TARGETS if (name in only if only is not None else name not in ON_REQUEST)
    ]
