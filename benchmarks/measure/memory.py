"""Peak memory of a process tree, sampled every few tens of milliseconds while it runs: the sum
of the proportional set size (PSS) of a process and all its descendants (forked workers share
pages with their parent: a sum of RSS would count those twice), and the RSS of the process
alone; and the CPU time of the tree (each process's as last sampled, so a process's last few
tens of milliseconds may be missing)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class TreeRun:
    seconds: float
    peak_tree_bytes: int  # the largest sum of PSS over the process and its descendants
    peak_main_bytes: int  # the largest RSS of the process alone
    returncode: int
    output: str
    cpu_seconds: float = 0.0  # user and system time of the process and its descendants


def _status_bytes(field: str) -> int:
    """A memory field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss() -> int:
    """This process's peak resident set in bytes: ``VmHWM``, its own since it started its
    program (``ru_maxrss`` keeps the peak of the process it was forked from when that was
    larger, so a child of a big benchmark process would report its parent's)."""
    return _status_bytes("VmHWM")


def rss() -> int:
    """This process's resident set now, in bytes (``VmRSS``)."""
    return _status_bytes("VmRSS")


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def run_sampled(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    every: float = 0.05,
    memory: bool = True,
) -> TreeRun:
    """Run ``command``, sampling its process tree's memory (unless not ``memory``: then its
    CPU time only, which costs far less to read) until it exits."""
    peaks = [0, 0]
    cpu: dict[int, float] = {}
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(command), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    done = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            try:
                main = root.memory_info().rss
                tree = root.memory_full_info().pss if memory else 0
                cpu[root.pid] = _cpu(root)
                for child in root.children(recursive=True):
                    try:
                        tree += child.memory_full_info().pss if memory else 0
                        cpu[child.pid] = _cpu(child)
                    except psutil.NoSuchProcess:
                        continue
            except psutil.NoSuchProcess:
                return
            peaks[0], peaks[1] = max(peaks[0], tree), max(peaks[1], main)
            done.wait(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return TreeRun(seconds, peaks[0], peaks[1], proc.returncode, output, sum(cpu.values()))
