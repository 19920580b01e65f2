"""A measured figure beside its baseline, and the table ``benchmarks/run`` prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """``value`` (in ``unit``) against ``baseline``, and their ratio as the target states it:
    baseline / figure for a speed-up (queries, report, start-up), figure / baseline for a rate
    or a share (crawl rate against the floor, lake size against the statements)."""

    target: str  # the target number and name, e.g. "2 query missing_sbom_digests"
    value: float
    unit: str
    baseline: float | None
    baseline_what: str
    ratio: float | None
    goal: str  # what the target asks, in words
    met: bool | None  # None: not a pass/fail figure

    def row(self) -> str:
        base = "" if self.baseline is None else f"{_num(self.baseline)} {self.baseline_what}"
        ratio = "" if self.ratio is None else f"{self.ratio:,.2f}x"
        verdict = {True: "met", False: "NOT MET", None: ""}[self.met]
        return (
            f"{self.target:<42} {_num(self.value):>10} {self.unit:<6} {base:<34} "
            f"{ratio:>9}  {self.goal} {verdict}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _num(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


HEADER = f"{'target':<42} {'figure':>10} {'unit':<6} {'baseline (same run)':<34} {'ratio':>9}  goal"


def median_seconds(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """The median wall time of ``repeat`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
