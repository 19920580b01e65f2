"""Verifying and normalising the chunks of a crawl, in parallel across cores.

:class:`Inspector` turns a chunk of units (:mod:`attestlake.crawl.chunk`) into its rows, as
Arrow. A crawl's first units, and every unit of a small crawl, are inspected in this process.
The workers then start on a thread of their own, while this process goes on inspecting the
chunks that come meanwhile (their server imports their modules: a second or two); the chunks
submitted once they started go to the worker processes (``forkserver``: safe beside the
threads of the Delta writer), which read the units of an OCI layout directory themselves,
verify, normalise and build the Arrow tables, and send them back as Arrow IPC streams.
A worker writes a chunk's streams to a file of a private folder of its own crawl (in the
system's temporary folder, ``TMPDIR``) and sends its name: this process maps the file and
removes it, where receiving the bytes through the pool's pipe costs it several times more
(the pipe is read 64 KiB at a time, each read allocating the whole remaining size). A
worker that cannot write the file sends the streams themselves; a file that cannot be read
back has its chunk inspected here again.
Workers load the trust policy from its file once, when they start; a policy that was not read
from a file is used in this process only. A worker ends when the crawler does, even when the
crawler is killed; when a worker dies, its chunks and the rest of the crawl are inspected in
this process.

Memory: a worker freezes what it inherited from the server (``gc.freeze``), so that Python's
collector never walks those objects, and their pages stay shared with the server instead of
being copied into each worker; once the last pool of this process is shut down, the server
is ended too, so that it holds nothing while the crawl computes its maintained tables.
"""

from __future__ import annotations

import functools
import gc
import mmap
import multiprocessing
import os
import select
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from attestlake._internal.memory_release import give_back, prefer_returning_pool
from attestlake.crawl.chunk import ChunkResult, Fetch, Inspected, Work, inspect_chunk
from attestlake.crawl.sources import Candidate
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy

#: With the default number of workers, a crawl's first units, up to this many, are inspected
#: in this process: a smaller crawl starts no workers (it would cost more than it saves).
#: ``jobs`` given explicitly lowers it to :data:`PARALLEL_MIN_EXPLICIT`.
PARALLEL_MIN = 500
PARALLEL_MIN_EXPLICIT = 16

_policy: TrustPolicy | None = None  # a worker process's own copy, see _start_worker
_spool: str | None = None  # the folder a worker writes its results to, see _start_worker

_pools_lock = threading.Lock()
_pools_open = 0  # this process's pools that may still fork from the server


def _start_worker(policy_path: str, crawler: int, spool: str | None = None) -> None:
    global _policy, _spool
    # What the server imported stays shared: the collector would otherwise write to each of
    # those objects' headers when it walks them, copying every page they are on.
    gc.freeze()
    prefer_returning_pool()  # a worker's memory should follow what its chunk holds
    _policy = load_policy(policy_path)
    _spool = spool
    threading.Thread(target=_exit_with, args=(crawler, spool), daemon=True).start()


def _exit_with(pid: int, spool: str | None = None) -> None:
    """End this worker as soon as the crawler process ``pid`` is gone, even killed with -9
    (the pool cannot tell its workers then, and they would wait for work forever), and
    remove the results it left unread."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): poll
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
    else:
        select.select([fd], [], [])
    if spool is not None:
        shutil.rmtree(spool, ignore_errors=True)
    os._exit(1)


@dataclass(frozen=True)
class _Spooled:
    """A chunk's result as a worker sends it: its streams one after the other in the file
    ``path`` (``sizes``: each table's name and stream length, in order)."""

    path: str
    sizes: tuple[tuple[str, int], ...]
    units: tuple[Inspected, ...]
    skipped: tuple[str, ...]


def _inspect_chunk(work: list[Work], now: datetime) -> ChunkResult | _Spooled:
    if _policy is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker started without a trust policy")
    give_back()  # what the last chunk freed (its result is sent): the worker's floor stays low
    result = inspect_chunk(work, _policy, now)
    return result if _spool is None else _spooled(result, _spool)


def _spooled(result: ChunkResult, spool: str) -> ChunkResult | _Spooled:
    """``result`` written to a new file of ``spool``; ``result`` itself when it cannot be
    (the folder full or gone): it is sent through the pipe then."""
    path = None
    try:
        fd, path = tempfile.mkstemp(suffix=".arrows", dir=spool)
        with open(fd, "wb") as out:
            for stream in result.streams.values():
                out.write(stream)
    except OSError:
        if path is not None:
            Path(path).unlink(missing_ok=True)
        return result
    sizes = tuple((name, len(stream)) for name, stream in result.streams.items())
    return _Spooled(path, sizes, result.units, result.skipped)


def _unspooled(spooled: _Spooled, spool: str | None) -> ChunkResult:
    """The result a worker wrote to ``spooled.path``, mapped, and the file removed; an
    :class:`OSError` if it is not a file of ``spool`` (None: the folder is removed already)
    of the size the worker said."""
    if spool is None or os.path.dirname(spooled.path) != spool:
        raise OSError(f"{spooled.path}: not a result of this crawl's workers")
    fd = os.open(spooled.path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.unlink(spooled.path)
        size = os.fstat(fd).st_size
        if size != sum(n for _, n in spooled.sizes):
            raise OSError(f"{spooled.path}: {size} bytes, the worker wrote a different size")
        data = pa.py_buffer(mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else b"")
    finally:
        os.close(fd)
    streams: dict[str, pa.Buffer] = {}
    offset = 0
    for name, n in spooled.sizes:
        streams[name] = data.slice(offset, n)
        offset += n
    return ChunkResult(streams, spooled.units, spooled.skipped)


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


def _pool_opened() -> None:
    global _pools_open
    with _pools_lock:
        _pools_open += 1


def _pool_closed() -> None:
    """End multiprocessing's fork server once no pool of this process can fork from it: its
    imports (pyarrow, the verifiers) hold 50-90 MiB that the crawl's last step, the
    maintained tables, would otherwise find taken. A later pool starts it again."""
    global _pools_open
    with _pools_lock:
        _pools_open -= 1
        if _pools_open == 0:
            _stop_server()


def _stop_server() -> None:
    from multiprocessing import forkserver

    # ForkServer has no public way to end the server; ``_stop`` closes its "alive" pipe and
    # waits for it, and the next pool's ``ensure_running`` starts a new one.
    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:
        stop()


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
        self._starting: threading.Thread | None = None
        self._started = threading.Event()  # set once the workers started, or failed to
        self._start_failed = False
        self._seen = 0  # units submitted so far
        self._spool: str | None = None  # where the workers write their results, see close
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
        its result. The first chunks of a crawl, until ``parallel_min`` units were seen, are
        inspected in this process when the function is called (a small crawl starts no
        workers); then the workers start, and the chunks submitted once they have go to
        them, the others are inspected here."""
        self._seen += len(work)
        if not self.parallel or self._seen < self.parallel_min:
            return functools.partial(self._here, work)
        if self._starting is None:
            self._start_workers()
        if not self._started.is_set():  # still starting: this process goes on meanwhile
            return functools.partial(self._here, work)
        if self._start_failed or self._pool is None:  # a worker died as it started
            self._break()
            return functools.partial(self._here, work)
        try:
            future = self._pool.submit(_inspect_chunk, _shipped(work), self.now)
        except BrokenProcessPool:  # a worker died since the last chunk: go on here
            self._break()
            return functools.partial(self._here, work)

        def collect() -> ChunkResult:
            try:
                result = future.result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): go on here
                self._break()
                return self._here(work)
            if not isinstance(result, _Spooled):
                return result
            try:
                return _unspooled(result, self._spool)
            except OSError:  # removed from under the crawl (a cleaner of TMPDIR): again here
                return self._here(work)

        return collect

    def started(self, timeout: float | None = None) -> bool:
        """Wait (at most ``timeout`` seconds) until the workers have started, or failed to;
        whether chunks submitted now go to them."""
        return self._started.wait(timeout) and self.parallel and not self._start_failed

    def _start_workers(self) -> None:
        """Create the pool and start its workers on a thread of its own: the first worker
        waits for the server to import the workers' modules, which this process need not."""
        self._started.clear()
        self._start_failed = False
        context = multiprocessing.get_context("forkserver")
        # Workers fork from a server that imported their modules once: they start at once,
        # and share those pages instead of each holding its own copy.
        context.set_forkserver_preload(_preload(self.policy))
        _pool_opened()
        try:
            self._spool = tempfile.mkdtemp(prefix="attestlake-chunks-")
        except OSError:  # no temporary folder to write to: the results come through the pipe
            self._spool = None
        pool = ProcessPoolExecutor(
            self.jobs,
            mp_context=context,
            initializer=functools.partial(
                _start_worker, str(self._policy_file), os.getpid(), self._spool
            ),
        )
        self._pool = pool
        self._starting = threading.Thread(
            target=self._start, args=(pool,), name="attestlake-workers", daemon=True
        )
        self._starting.start()

    def _start(self, pool: ProcessPoolExecutor) -> None:
        try:
            for started in [pool.submit(os.getpid) for _ in range(self.jobs)]:
                started.result()
        except BaseException:  # a worker died starting (its error is on stderr): none used
            self._start_failed = True
        finally:
            self._started.set()

    def _break(self) -> None:
        self.broken = True
        self.close()

    def _here(self, work: list[Work]) -> ChunkResult:
        return inspect_chunk(work, self.policy, self.now)

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()  # the pool is shut down once it no longer starts workers
            self._starting = None
            self.broken = self.broken or self._start_failed
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            _pool_closed()
        if self._spool is not None:  # results of chunks never collected
            shutil.rmtree(self._spool, ignore_errors=True)
            self._spool = None

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
