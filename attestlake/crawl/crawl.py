"""The crawler: discover attestations in a source, verify each, and mirror them into the lake.

Incremental and idempotent: a crawl unit (an OCI manifest, or one document of a file) whose
verification rows are in the lake is never read again (nor a published contract or inventory
whose ``published_documents`` row is), so a second crawl ingests nothing and a crawl after new
pushes ingests only those. Units are listed lazily and inspected in chunks (read, verified,
normalised and turned into Arrow by worker processes in a large crawl, see
:mod:`attestlake.crawl.inspection` and :mod:`attestlake.crawl.chunk`); whole chunks make a batch,
bounded in units and in bytes of rows, written with one Delta commit per table, the trusted tables
first and ``published_documents`` and ``verifications`` last, then journalled in ``crawls``
(:mod:`attestlake.lake.journal`); every row carries the crawl's id and batch number. A crawl killed
between two writes leaves rows of a batch it never journalled; the next crawl deletes exactly
those before it starts, so the lake ends exactly as an uninterrupted crawl leaves it, and stops
instead, deleting nothing, when the lake's tables disagree. A signed statement found in several
manifests (a referrer of the image it built, a copy) reaches the trusted tables once, its
evidence from whichever manifest carries it (:mod:`attestlake.crawl.replay`). Writers of one lake take
turns under a lock. A bad attestation never stops the crawl: it becomes a ``not_verified`` row
with its reason, and never reaches the trusted tables.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from attestlake._internal.memory_release import give_back
from attestlake._internal.sizes import parse_size
from attestlake.crawl.chunk import CHUNK_BYTES, CHUNK_UNITS, ChunkResult, Work, merged
from attestlake.crawl.crawl_result import CrawlResult, Outcomes
from attestlake.crawl.digest_set import DigestSet
from attestlake.crawl.inspection import Inspector
from attestlake.crawl.progress import ProgressFn, Reporter
from attestlake.crawl.replay import Replays
from attestlake.crawl.requirements import RequirementOwners
from attestlake.crawl.reverify import (
    NoKeptBytes,
    ReverifyResult,
    needs_reverify,
    reverify_locked,
)
from attestlake.crawl.sources import MAX_DOCUMENT_SIZE, Candidate, Source, Unit, as_source
from attestlake.crawl.sources.combined import CombinedSource
from attestlake.crawl.sources.interface import batched
from attestlake.crawl.sources.listed import require_listed
from attestlake.errors import StoreError
from attestlake.lake import journal
from attestlake.lake.crawl_start import begin
from attestlake.lake.location import require_lake_target
from attestlake.lake.maintain import refresh as refresh_maintained
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.tables import (
    CONTRACT_REQUIREMENTS,
    CRAWLS,
    UNIT_TABLES,
    VERIFICATIONS,
)
from attestlake.lake.write import Appender, writer_lock
from attestlake.store import Store
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED
from attestlake.verify.trust import TrustPolicy

__all__ = ["BATCH_SIZE", "MAX_BATCH_BYTES", "CrawlResult", "ProgressFn", "crawl", "parse_size"]

BATCH_SIZE = 1000
#: A batch ends once its rows take this many bytes (Arrow IPC), whatever its units.
MAX_BATCH_BYTES = 64 * 1024 * 1024
#: Called right after each write of a crawl with (batch, table, rows written): every table that
#: got rows, then ``crawls`` once the batch is journalled.
WrittenFn = Callable[[int, str, int], None]


def _stamped(data: pa.Table, crawl_id: str, batch: int) -> pa.Table:
    """``data`` with the crawl and batch that write it in ``crawl_id`` and ``crawl_batch``."""
    for name, value in (
        ("crawl_id", pa.scalar(crawl_id, pa.string())),
        ("crawl_batch", pa.scalar(batch, pa.int32())),
    ):
        column = pa.repeat(value, data.num_rows)
        index = data.schema.get_field_index(name)
        data = (
            data.set_column(index, name, column) if index >= 0 else data.append_column(name, column)
        )
    return data


@dataclass
class _Tally:
    discovered: int = 0
    already: int = 0
    already_published: int = 0
    warnings: list[str] = field(default_factory=list)


def _new_candidates(
    source: Source, known: tuple[DigestSet, DigestSet], tally: _Tally, report: Reporter
) -> Iterator[Candidate]:
    """The candidates of ``source`` not in the lake yet, each once (a unit found twice in this
    crawl, by a tag and as a referrer, is read once)."""
    attested, published = known
    seen = DigestSet()
    for candidate in source.candidates():
        if candidate.key in seen:
            continue
        seen.add(candidate.key)
        new = candidate.key not in attested and candidate.key not in published
        report.listed(new=new)
        if candidate.key in attested:
            tally.already += 1
            continue
        if new:
            tally.discovered += 1
            yield candidate
    report.listed_all()


@dataclass
class _Chunk:
    """Work for one worker: units read here or to read there, in the source's order;
    ``closes``: the chunk ends a batch (its ``batch_size``-th unit)."""

    work: list[Work] = field(default_factory=list)
    to_fetch: int = 0  # units the chunk reads itself
    size: int = 0  # bytes of the units read here
    closes: bool = False


def _chunks(
    candidates: Iterator[Candidate],
    source: Source,
    tally: _Tally,
    report: Reporter,
    batch_size: int,
) -> Iterator[_Chunk]:
    """The new units in chunks of at most :data:`CHUNK_UNITS` units and about
    :data:`CHUNK_BYTES` bytes, cut at every ``batch_size``-th unit. A unit a worker can read
    stays a candidate; others are read here, ``source.fetch_concurrency`` threads at a time
    (a unit whose store fails is skipped with a warning: the next crawl reads it again)."""
    threads = max(1, source.fetch_concurrency)
    group = 4 * threads
    chunk, counted = _Chunk(), 0
    with ThreadPoolExecutor(threads) as pool:
        for candidates_now in batched(candidates, group):
            local = [c for c in candidates_now if c.loader is None]
            loaded = iter(
                pool.map(_load(tally), local) if threads > 1 else map(_load(tally), local)
            )
            for candidate in candidates_now:
                item: Work = candidate
                if candidate.loader is None:
                    unit = next(loaded)
                    report.fetched(ok=unit is not None)
                    if unit is None:
                        continue
                    item = unit
                    chunk.size += unit.size
                else:
                    chunk.to_fetch += 1
                chunk.work.append(item)
                counted += 1
                chunk.closes = counted % batch_size == 0
                if chunk.closes or len(chunk.work) >= CHUNK_UNITS or chunk.size >= CHUNK_BYTES:
                    yield chunk
                    chunk = _Chunk()
    if chunk.work:
        yield chunk


def _load(tally: _Tally) -> Callable[[Candidate], Unit | None]:
    def load(candidate: Candidate) -> Unit | None:
        try:
            return candidate.load()
        except StoreError as exc:  # transient: not recorded, so the next crawl tries again
            tally.warnings.append(f"{candidate.source}: skipped, store failed: {exc}")
            return None

    return load


class _BatchWriter:
    """Writes the verified batches of one crawl to the lake, in order, and counts what it wrote."""

    def __init__(
        self,
        lake_root: LakeRoot,
        crawl_id: str,
        seen: datetime,
        tally: _Tally,
        report: Reporter,
        on_written: WrittenFn | None,
    ) -> None:
        self.crawl_id = crawl_id
        self.seen = seen
        self.tally = tally
        self.report = report
        self.on_written = on_written
        self.appender = Appender(lake_root)
        self.requirements = RequirementOwners(lake_root)
        self.replays = Replays(lake_root)
        self.totals: Counter[str] = Counter()
        self.outcomes = Outcomes()
        self.published: Counter[str] = Counter()
        self.ingested = self.others = 0

    def write(self, results: list[ChunkResult], batch: int) -> None:
        """Write batch ``batch`` (the rows of its chunks), one commit per table, and journal
        it."""
        tables, units = merged(results)
        fixes = self.replays.settle(tables, units)  # one set of trusted rows per statement
        reqs = tables.get(CONTRACT_REQUIREMENTS.name)
        taken: list[str] = []
        if reqs is not None:  # one set of requirement rows per contract digest, lake-wide
            kept, taken = self.requirements.settle(reqs.to_pylist())
            tables[CONTRACT_REQUIREMENTS.name] = reqs.from_pylist(kept, schema=reqs.schema)
        in_batch: Counter[str] = Counter()
        for table in UNIT_TABLES:  # data tables first, verifications last
            if table is VERIFICATIONS:
                self.replays.apply(fixes)
            data = tables.pop(table.name, None)  # each table let go once written
            written = (
                self.appender.append(table, _stamped(data, self.crawl_id, batch))
                if data is not None
                else 0
            )
            in_batch[table.name] += written
            if table is VERIFICATIONS and data is not None:
                self.outcomes.add(data)
            if written and self.on_written is not None:
                self.on_written(batch, table.name, written)
        self.requirements.apply(taken)  # once the new owners' units are complete
        if in_batch.total():
            journal.journal_batch(self.appender, self.crawl_id, batch, in_batch)
            if self.on_written is not None:
                self.on_written(batch, CRAWLS.name, in_batch.total())
        self.totals.update(in_batch)
        self.published.update(u.published for u in units if u.published is not None)
        self.ingested += sum(1 for u in units if u.attesting)
        self.others += sum(1 for u in units if not (u.attesting or u.published))
        self.report.written(len(units))
        give_back()  # the batch's rows are written: the next batch starts from a lower floor

    def let_go(self) -> None:
        """After the last batch: let go of what only writing needed (the open tables, the
        statements and contract digests known), before the maintained tables are computed."""
        self.appender.close()
        self.replays.forget()
        self.requirements.owners.clear()

    def result(
        self,
        src: Source,
        lake_root: LakeRoot,
        batches: int,
        seconds: float,
        reverified: ReverifyResult | None,
    ) -> CrawlResult:
        """What the crawl did, once its last batch is written."""
        tally, outcomes, totals = self.tally, self.outcomes, self.totals
        return CrawlResult(
            source=src.ref,
            sources=src.refs if isinstance(src, CombinedSource) else (src.ref,),
            lake=str(lake_root),
            discovered=self.ingested + tally.already,
            already_known=tally.already,
            ingested=self.ingested,
            verified=outcomes.units[VERIFIED],
            not_verified=outcomes.units[NOT_VERIFIED],
            reasons=dict(outcomes.reasons),
            rows={t.name: totals[t.name] for t in UNIT_TABLES},
            documents=totals[VERIFICATIONS.name],
            documents_verified=outcomes.documents[VERIFIED],
            documents_not_verified=outcomes.documents[NOT_VERIFIED],
            other_manifests=self.others,
            published=dict(self.published),
            batches=batches,
            seconds=seconds,
            warnings=tuple(tally.warnings + src.warnings()),
            crawl_id=self.crawl_id,
            reverified=reverified,
            already_published=tally.already_published,
        )


def _inspected(
    chunks: Iterator[_Chunk], inspector: Inspector
) -> Iterator[tuple[_Chunk, ChunkResult]]:
    """Each chunk with its result, in order; up to ``inspector.ahead`` chunks are submitted
    ahead of the one awaited, so the workers go on while this process writes."""
    pending: deque[tuple[_Chunk, Callable[[], ChunkResult]]] = deque()
    for chunk in chunks:
        pending.append((chunk, inspector.submit(chunk.work)))
        while len(pending) > inspector.ahead:
            done, result = pending.popleft()
            yield done, result()
    while pending:
        done, result = pending.popleft()
        yield done, result()


def _verify_and_write(
    chunks: Iterator[_Chunk], inspector: Inspector, writer: _BatchWriter, max_bytes: int
) -> int:
    """Verify the chunks in the inspector's workers and write them in batches of whole
    chunks, a batch ending where a chunk ``closes`` one or past ``max_bytes`` bytes of rows;
    return how many batches were written."""
    count = 0
    batch: list[ChunkResult] = []
    size = units = 0
    for chunk, result in _inspected(chunks, inspector):
        for _ in range(chunk.to_fetch - len(result.skipped)):
            writer.report.fetched(ok=True)
        for warning in result.skipped:
            writer.report.fetched(ok=False)
            writer.tally.warnings.append(warning)
        writer.report.verified(len(result.units))
        batch.append(result)
        size += result.nbytes
        units += len(result.units)
        if units and (chunk.closes or size >= max_bytes):
            count += 1
            writer.write(batch, count)
            batch, size, units = [], 0, 0
    if units:
        count += 1
        writer.write(batch, count)
    return count


def crawl(
    source: Source | Store,
    lake_root: LakeRoot,
    policy: TrustPolicy,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batch_bytes: int = MAX_BATCH_BYTES,
    max_document_size: int = MAX_DOCUMENT_SIZE,
    jobs: int | None = None,
    allow_empty: bool = False,
    progress: ProgressFn | None = None,
    on_written: WrittenFn | None = None,
    crawl_id: str | None = None,
) -> CrawlResult:
    """Crawl ``source`` into the lake at ``lake_root``; see the module doc for the guarantees.

    Before anything is written: the lake must be a lake, or a new or empty directory
    (:func:`~attestlake.lake.location.require_lake_target`), and each source (each part of a
    :class:`~attestlake.crawl.sources.combined.CombinedSource`) must list something, unless
    ``allow_empty`` (:func:`~attestlake.crawl.sources.listed.require_listed`).
    ``jobs``: worker processes for verification (default: one per core; 1: none).
    ``progress``: hears each phase's progress (:mod:`attestlake.crawl.progress`).
    ``on_written``: see :data:`WrittenFn` (the tests stop the crawl there to prove it
    resumes). The source is not closed: whoever opened it closes it.
    """
    require_lake_target(lake_root)
    src = require_listed(
        as_source(source, max_document_size=max_document_size), allow_empty=allow_empty
    )
    now = now or datetime.now(UTC)
    started = time.monotonic()
    tally = _Tally()
    report = Reporter(progress)
    crawl_id = crawl_id or str(uuid.uuid4())
    with writer_lock(lake_root), Inspector(policy, now, jobs) as inspector:
        reverified = _reverify_first(lake_root, policy, tally, jobs)
        attested, in_lake = map(DigestSet, begin(lake_root, crawl_id, src.ref, policy.digest))
        known = (attested, in_lake)
        writer = _BatchWriter(lake_root, crawl_id, now, tally, report, on_written)
        found = _new_candidates(src, known, tally, report)
        chunks = _chunks(found, src, tally, report, max(1, batch_size))
        batches = _verify_and_write(chunks, inspector, writer, max_batch_bytes)
        inspector.close()  # no worker holds memory while the maintained tables are computed
        if inspector.broken:  # known for sure once closed: workers may still have been starting
            tally.warnings.append(
                "a worker process ended before the crawl did (its error, if it had one, is "
                "above): the rest of the crawl was inspected in this process, more slowly"
            )
        journal.journal_completed(writer.appender, crawl_id, src.ref, writer.totals, policy.digest)
        # nothing of the crawl's bookkeeping is held while the maintained tables are computed
        writer.let_go()
        del attested, in_lake, known, found, chunks
        give_back()
        refresh_maintained(lake_root)
    return writer.result(src, lake_root, batches, time.monotonic() - started, reverified)


def _reverify_first(
    lake_root: LakeRoot, policy: TrustPolicy, tally: _Tally, jobs: int | None
) -> ReverifyResult | None:
    """Make the lake's verdicts again under ``policy`` when they were made under another one
    (:mod:`attestlake.crawl.reverify`), before the crawl adds its own; a lake whose units'
    bytes were not kept is crawled as it is, with a warning."""
    if not needs_reverify(lake_root, policy):
        return None
    try:
        return reverify_locked(lake_root, policy, crawl, jobs=jobs)
    except NoKeptBytes as exc:  # refused before anything was written
        tally.warnings.append(
            f"the lake's verdicts were made under another trust policy (or one it did not "
            f"record), but {exc.units} of its crawl units were crawled by a version that kept "
            "no bytes: their verdicts are not made again; crawl the stores into a new lake "
            "directory for that"
        )
        return None
