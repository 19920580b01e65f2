"""Verifying and normalising batches of crawl units, in parallel across cores.

:class:`Inspector` turns a batch of units (raw bytes) into Arrow tables, one per lake table.
Small batches run in this process; larger ones are split into chunks that worker processes
(``forkserver``: safe beside the threads of the Delta writer) verify, normalise and convert to
Arrow, returning tables in the batch's order. Workers load the trust policy from its file once,
when they start; a policy that was not read from a file is used in this process only. A worker
ends when the crawler does, even when the crawler is killed.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from attestlake.crawl.normalize import Rows, inspect_unit
from attestlake.crawl.requirements import best_rows
from attestlake.crawl.sources import Unit
from attestlake.lake.tables import BY_NAME, CONTRACT_REQUIREMENTS
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy

#: A batch's rows as Arrow tables, by lake table name.
Tables = dict[str, pa.Table]

#: With the default number of workers, batches with fewer units than this are inspected in
#: this process: starting workers and shipping bytes to them would cost more than it saves.
#: ``jobs`` given explicitly lowers it to :data:`PARALLEL_MIN_EXPLICIT`.
PARALLEL_MIN = 500
PARALLEL_MIN_EXPLICIT = 16

_policy: TrustPolicy | None = None  # a worker process's own copy, see _start_worker


def _start_worker(policy_path: str, crawler: int) -> None:
    global _policy
    _policy = load_policy(policy_path)
    threading.Thread(target=_exit_with, args=(crawler,), daemon=True).start()


def _exit_with(pid: int) -> None:
    """End this worker as soon as the crawler process ``pid`` is gone, even killed with -9
    (the pool cannot tell its workers then, and they would wait for work forever)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): poll
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
    select.select([fd], [], [])
    os._exit(1)


def to_tables(rows: Rows) -> Tables:
    """Arrow tables by lake table name (contract requirements already deduplicated here)."""
    requirements = rows.by_table.get(CONTRACT_REQUIREMENTS.name)
    if requirements:
        rows.by_table[CONTRACT_REQUIREMENTS.name] = best_rows(requirements)
    return {
        name: pa.Table.from_pylist(table_rows, schema=BY_NAME[name].schema)
        for name, table_rows in rows.by_table.items()
        if table_rows
    }


def _inspect_chunk(units: list[Unit], now: datetime) -> Tables:
    if _policy is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker started without a trust policy")
    return to_tables(inspect_units(units, _policy, now))


def inspect_units(units: list[Unit], policy: TrustPolicy, now: datetime) -> Rows:
    rows = Rows()
    for unit in units:
        rows.extend(inspect_unit(unit, policy, now))
    return rows


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Inspector:
    """Inspect batches serially or in ``jobs`` worker processes (started on first need)."""

    def __init__(
        self,
        policy: TrustPolicy,
        now: datetime,
        jobs: int | None = None,
        *,
        parallel_min: int | None = None,
    ) -> None:
        self.policy = policy
        self.now = now
        self.jobs = default_jobs() if jobs is None else max(1, jobs)
        if parallel_min is None:
            parallel_min = PARALLEL_MIN if jobs is None else PARALLEL_MIN_EXPLICIT
        self.parallel_min = parallel_min
        self._pool: ProcessPoolExecutor | None = None
        #: True once a worker died: the rest of the crawl is inspected in this process.
        self.broken = False
        self._policy_file = policy.source if Path(policy.source).is_file() else None

    @property
    def parallel(self) -> bool:
        return self.jobs > 1 and self._policy_file is not None and not self.broken

    def inspect(self, units: list[Unit]) -> Tables:
        return self.submit(units)()

    def submit(self, units: list[Unit]) -> Callable[[], Tables]:
        """Start inspecting ``units``; the returned function waits for and returns the tables
        (rows in the units' order). In parallel mode the caller can read the next batch
        meanwhile."""
        if not self.parallel or len(units) < self.parallel_min:
            tables = to_tables(inspect_units(units, self.policy, self.now))
            return lambda: tables
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.jobs,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=functools.partial(_start_worker, str(self._policy_file), os.getpid()),
            )
        n = max(1, -(-len(units) // (self.jobs * 4)))  # ceil: about 4 chunks per worker
        futures = [
            self._pool.submit(_inspect_chunk, units[i : i + n], self.now)
            for i in range(0, len(units), n)
        ]

        def collect() -> Tables:
            try:
                parts = [future.result() for future in futures]
            except BrokenProcessPool:  # a worker died (killed, out of memory): go on serially
                self.broken = True
                self.close()
                return to_tables(inspect_units(units, self.policy, self.now))
            names = {name for part in parts for name in part}
            merged = {n: pa.concat_tables([p[n] for p in parts if n in p]) for n in names}
            requirements = merged.get(CONTRACT_REQUIREMENTS.name)
            if requirements is not None:  # the best unit per contract across the chunks
                kept = best_rows(requirements.to_pylist())
                merged[CONTRACT_REQUIREMENTS.name] = pa.Table.from_pylist(
                    kept, schema=CONTRACT_REQUIREMENTS.schema
                )
            return merged

        return collect

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
