"""Peak memory of a process tree, sampled every few tens of milliseconds while it runs: the sum
of the proportional set size (PSS) of a process and all its descendants (forked workers share
pages with their parent: a sum of RSS would count those twice), and the RSS of the process
alone."""

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


def run_sampled(command: Sequence[str], *, cwd: Path | None = None, every: float = 0.05) -> TreeRun:
    """Run ``command``, sampling its process tree's memory until it exits."""
    peaks = [0, 0]
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
                tree = root.memory_full_info().pss
                for child in root.children(recursive=True):
                    try:
                        tree += child.memory_full_info().pss
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
    return TreeRun(seconds, peaks[0], peaks[1], proc.returncode, output)
