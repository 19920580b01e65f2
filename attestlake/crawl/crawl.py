"""The crawler: discover attestations in a source, verify each, and mirror them into the lake.

Incremental and idempotent: a crawl unit (an OCI manifest, or one document of a file) whose
verification rows are in the lake is never read again (nor a published contract or inventory
whose ``published_documents`` row is), so a second crawl ingests nothing and a crawl after new
pushes ingests only those. Units are read lazily, in batches bounded in count and bytes; each
batch is verified and normalised (in parallel worker processes for large batches, see
:mod:`attestlake.crawl.inspection`) and written with one Delta commit per table, the trusted tables
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
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from attestlake._internal.sizes import parse_size
from attestlake.crawl.crawl_result import CrawlResult, Outcomes
from attestlake.crawl.inspection import Inspector, Tables
from attestlake.crawl.kept import blob_rows
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
from attestlake.crawl.sources.listed import require_listed
from attestlake.errors import StoreError
from attestlake.lake import journal
from attestlake.lake.crawl_start import begin
from attestlake.lake.location import require_lake_target
from attestlake.lake.maintain import refresh as refresh_maintained
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.tables import (
    BLOBS,
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
MAX_BATCH_BYTES = 256 * 1024 * 1024
#: Called right after each write of a crawl with (batch, table, rows written): every table that
#: got rows, then ``crawls`` once the batch is journalled.
WrittenFn = Callable[[int, str, int], None]


class _Known:
    """The keys of the units in the lake, held compactly (32 bytes per sha256 key)."""

    def __init__(self, keys: set[str]) -> None:
        self._keys = {self._pack(k) for k in keys}

    @staticmethod
    def _pack(key: str) -> bytes:
        return (
            bytes.fromhex(key[7:]) if key.startswith("sha256:") and len(key) == 71 else key.encode()
        )

    def __contains__(self, key: str) -> bool:
        return self._pack(key) in self._keys

    def add(self, key: str) -> None:
        self._keys.add(self._pack(key))


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


def _batches(
    source: Source,
    known: tuple[_Known, _Known],
    tally: _Tally,
    report: Reporter,
    limits: tuple[int, int],
) -> Iterator[list[Unit]]:
    """The units not in the lake yet, loaded, in batches of at most ``batch_size`` units and
    about ``max_bytes`` bytes (``limits``). Loading runs ``source.fetch_concurrency`` threads
    at a time."""
    batch_size, max_bytes = limits

    def load(candidate: Candidate) -> Unit | None:
        try:
            return candidate.load()
        except StoreError as exc:  # transient: not recorded, so the next crawl tries again
            tally.warnings.append(f"{candidate.source}: skipped, store failed: {exc}")
            return None

    threads = max(1, source.fetch_concurrency)
    group = max(1, min(batch_size, 4 * threads))
    pending: list[Candidate] = []
    batch: list[Unit] = []
    size = 0
    with ThreadPoolExecutor(threads) as pool:

        def flush_pending() -> Iterator[list[Unit]]:
            nonlocal batch, size
            units = pool.map(load, pending) if threads > 1 else map(load, pending)
            for unit in units:
                report.fetched(ok=unit is not None)
                if unit is None:
                    continue
                batch.append(unit)
                size += unit.size
                if len(batch) >= batch_size or size >= max_bytes:
                    yield batch
                    batch, size = [], 0
            pending.clear()

        attested, published = known
        seen = _Known(set())  # a unit found twice in this crawl (tag and referrer) is read once
        for candidate in source.candidates():
            if candidate.key in seen:
                continue
            seen.add(candidate.key)
            new = candidate.key not in attested and candidate.key not in published
            report.listed(new=new)
            if candidate.key in attested:
                tally.already += 1
                continue
            if not new:
                continue
            tally.discovered += 1
            pending.append(candidate)
            if len(pending) >= group:
                yield from flush_pending()
        report.listed_all()
        yield from flush_pending()
        if batch:
            yield batch


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

    def write(self, units: list[Unit], tables: Tables, batch: int) -> None:
        """Write batch ``batch`` (its units and their verified and normalised rows), one commit
        per table, and journal it."""
        fixes = self.replays.settle(tables, units)  # one set of trusted rows per statement
        reqs = tables.get(CONTRACT_REQUIREMENTS.name)
        taken: list[str] = []
        if reqs is not None:  # one set of requirement rows per contract digest, lake-wide
            kept, taken = self.requirements.settle(reqs.to_pylist())
            tables[CONTRACT_REQUIREMENTS.name] = reqs.from_pylist(kept, schema=reqs.schema)
        blobs = blob_rows(units, self.seen)
        if blobs is not None:
            tables[BLOBS.name] = blobs
        in_batch: Counter[str] = Counter()
        for table in UNIT_TABLES:  # data tables first, verifications last
            if table is VERIFICATIONS:
                self.replays.apply(fixes)
            data = tables.get(table.name)
            written = (
                self.appender.append(table, _stamped(data, self.crawl_id, batch))
                if data is not None
                else 0
            )
            in_batch[table.name] += written
            if written and self.on_written is not None:
                self.on_written(batch, table.name, written)
        self.requirements.apply(taken)  # once the new owners' units are complete
        if in_batch.total():
            journal.journal_batch(self.appender, self.crawl_id, batch, in_batch)
            if self.on_written is not None:
                self.on_written(batch, CRAWLS.name, in_batch.total())
        self.totals.update(in_batch)
        if VERIFICATIONS.name in tables:
            self.outcomes.add(tables[VERIFICATIONS.name])
        attesting = sum(1 for u in units if u.documents or u.error)
        self.published.update(u.published.kind for u in units if u.published is not None)
        self.ingested += attesting
        self.others += sum(1 for u in units if not (u.documents or u.error or u.published))
        self.report.written(len(units))

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


def _verify_and_write(
    batches: Iterator[list[Unit]], inspector: Inspector, writer: _BatchWriter
) -> int:
    """Verify each batch in the inspector's workers and write it; return how many there were.

    Batch k is verified (in workers) while batch k+1 is read; writes stay in order.
    """

    def finish(units: list[Unit], verified: Callable[[], Tables], batch: int) -> None:
        tables = verified()
        writer.report.verified(len(units))
        writer.write(units, tables, batch)

    count = 0
    in_flight: tuple[list[Unit], Callable[[], Tables]] | None = None
    for units in batches:
        count += 1
        submitted = (units, inspector.submit(units))
        if in_flight is not None:
            finish(*in_flight, count - 1)
        in_flight = submitted
    if in_flight is not None:
        finish(*in_flight, count)
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
        attested, in_lake = begin(lake_root, crawl_id, src.ref, policy.digest)
        known = (_Known(attested), _Known(in_lake))
        writer = _BatchWriter(lake_root, crawl_id, now, tally, report, on_written)
        found = _batches(src, known, tally, report, (max(1, batch_size), max_batch_bytes))
        batches = _verify_and_write(found, inspector, writer)
        journal.journal_completed(writer.appender, crawl_id, src.ref, writer.totals, policy.digest)
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
