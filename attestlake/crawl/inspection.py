"""Verifying and normalising the chunks of a crawl, in parallel across cores.

:class:`Inspector` turns a chunk of units (:mod:`attestlake.crawl.chunk`) into its rows, as
Arrow. A crawl's first units, and every unit of a small crawl, are inspected in this process,
until :data:`PARALLEL_MIN` units were seen or inspecting them here took
:data:`PARALLEL_AFTER_SECONDS` of CPU (units that cost much to verify, Sigstore bundles, get
there long before the count), and then while the workers start; the server the workers fork
from starts importing their modules half way to either, while this process inspects.
The rest go to worker processes (``forkserver``: safe beside the threads of the Delta writer)
that read the units of an OCI layout directory themselves, verify, normalise and build the
Arrow tables, and send them back as Arrow IPC streams. Workers load the trust policy from its
file once, when they start; a policy that was not read from a file is used in this process
only. A worker ends when the crawler does, even when the crawler is killed; when a worker
dies, its chunks and the rest of the crawl are inspected in this process.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from multiprocessing import forkserver
from pathlib import Path

from attestlake.crawl.chunk import ChunkResult, Fetch, Work, inspect_chunk
from attestlake.crawl.sources import Candidate
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy

#: With the default number of workers, a crawl's first units, up to this many, are inspected
#: in this process: a smaller crawl starts no workers (it would cost more than it saves).
#: ``jobs`` given explicitly lowers it to :data:`PARALLEL_MIN_EXPLICIT`.
PARALLEL_MIN = 500
PARALLEL_MIN_EXPLICIT = 16
#: ... or once inspecting them here has taken this much CPU: by then the crawl has shown
#: that its units cost more than starting the workers does.
PARALLEL_AFTER_SECONDS = 0.25

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


def _inspect_chunk(work: list[Work], now: datetime) -> ChunkResult:
    if _policy is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker started without a trust policy")
    return inspect_chunk(work, _policy, now)


def _shipped(work: list[Work]) -> list[Work]:
    """``work`` as a worker gets it: a candidate that a worker can read becomes a
    :class:`Fetch`; one it cannot is read here."""
    return [
        (Fetch(item.loader, item.key, item.source) if item.loader else item.load())
        if isinstance(item, Candidate)
        else item
        for item in work
    ]


def _preload(policy: TrustPolicy) -> list[str]:
    """The modules a worker needs under ``policy``: Sigstore's only when it names
    identities."""
    declared = policy.declared.identities if policy.declared else ()
    keyless = ["attestlake.verify.sigstore_trust"] if policy.identities or declared else []
    return [__name__, *keyless]


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
        self._seen = 0  # units submitted so far
        self._here_seconds = 0.0  # CPU spent inspecting chunks in this process
        self._context: multiprocessing.context.ForkServerContext | None = None
        self._starting: Future[ProcessPoolExecutor] | None = None  # workers starting
        #: True once a worker died: the rest of the crawl is inspected in this process.
        self.broken = False
        self._policy_file = policy.source if Path(policy.source).is_file() else None

    @property
    def parallel(self) -> bool:
        return self.jobs > 1 and self._policy_file is not None and not self.broken

    @property
    def ahead(self) -> int:
        """Chunks a crawl may submit ahead of the one it waits for: enough to keep every
        worker busy while the crawler writes; none while chunks are inspected here."""
        return 4 * self.jobs if self._pool is not None else 0

    def submit(self, work: list[Work]) -> Callable[[], ChunkResult]:
        """Start inspecting the chunk ``work``; the returned function waits for and returns
        its result. The first chunks of a crawl are inspected in this process when the
        function is called (a small crawl starts no workers): until ``parallel_min`` units
        were seen, or until inspecting them here took :data:`PARALLEL_AFTER_SECONDS`, and
        then while the workers start; later ones go to the workers."""
        self._seen += len(work)
        if not self.parallel:
            return functools.partial(self._here, work)
        if self._pool is None:
            counted = self._seen >= self.parallel_min
            if not counted and self._here_seconds < PARALLEL_AFTER_SECONDS:
                if 2 * self._seen >= self.parallel_min or 2 * self._here_seconds >= (
                    PARALLEL_AFTER_SECONDS
                ):  # half way there: a crawl that may well need the workers
                    self._server()
                return functools.partial(self._here, work)
            if not counted and not self._workers_started():  # on here meanwhile
                return functools.partial(self._here, work)
            try:
                self._pool = self._started_pool()
            except BrokenProcessPool:  # a worker died as it started: go on here
                self._break()
                return functools.partial(self._here, work)
        try:
            future = self._pool.submit(_inspect_chunk, _shipped(work), self.now)
        except BrokenProcessPool:  # a worker died since the last chunk: go on here
            self._break()
            return functools.partial(self._here, work)

        def collect() -> ChunkResult:
            try:
                return future.result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): go on here
                self._break()
                return self._here(work)

        return collect

    def _server(self) -> multiprocessing.context.ForkServerContext:
        """The context the workers start in, its server started (it imports the workers'
        modules in the background; the first worker waits for it)."""
        if self._context is None:
            context = multiprocessing.get_context("forkserver")
            # Workers fork from a server that imported their modules once: they start at
            # once, and share those pages instead of each holding its own copy.
            context.set_forkserver_preload(_preload(self.policy))
            forkserver.ensure_running()
            self._context = context
        return self._context

    def _start_pool(self) -> ProcessPoolExecutor:
        """A pool of ``jobs`` workers, each started (its trust policy loaded)."""
        pool = ProcessPoolExecutor(
            self.jobs,
            mp_context=self._server(),
            initializer=functools.partial(_start_worker, str(self._policy_file), os.getpid()),
        )
        try:
            for started in [pool.submit(os.getpid) for _ in range(self.jobs)]:
                started.result()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        return pool

    def _workers_started(self) -> bool:
        """Whether the workers are up, starting them in a thread if they are not starting."""
        if self._starting is None:
            starting: Future[ProcessPoolExecutor] = Future()

            def start() -> None:
                try:
                    starting.set_result(self._start_pool())
                except BaseException as exc:  # handed to the crawl, which waits for it
                    starting.set_exception(exc)

            threading.Thread(target=start, name="attestlake-workers", daemon=True).start()
            self._starting = starting
        return self._starting.done()

    def _started_pool(self) -> ProcessPoolExecutor:
        """The workers' pool: the one being started (waited for), or one started now."""
        if self._starting is None:
            return self._start_pool()
        starting, self._starting = self._starting, None
        return starting.result()

    def _break(self) -> None:
        self.broken = True
        self.close()

    def _here(self, work: list[Work]) -> ChunkResult:
        started = time.thread_time()  # its CPU: what the units cost, however busy the machine
        try:
            return inspect_chunk(work, self.policy, self.now)
        finally:
            self._here_seconds += time.thread_time() - started

    def close(self) -> None:
        if self._starting is not None:
            with contextlib.suppress(BrokenProcessPool):
                self._started_pool().shutdown(cancel_futures=True)
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
