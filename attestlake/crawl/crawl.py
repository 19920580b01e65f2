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

import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from attestlake.crawl.crawl_result import CrawlResult, Outcomes
from attestlake.crawl.inspection import Inspector, Tables, owned_requirements
from attestlake.crawl.replay import Replays
from attestlake.crawl.sources import MAX_DOCUMENT_SIZE, Candidate, Source, Unit, as_source
from attestlake.errors import InputError, StoreError
from attestlake.lake import journal
from attestlake.lake.crawl_start import begin
from attestlake.lake.scan import column_values
from attestlake.lake.tables import CONTRACT_REQUIREMENTS, CRAWLS, UNIT_TABLES, VERIFICATIONS
from attestlake.lake.write import Appender, writer_lock
from attestlake.store import Store
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED
from attestlake.verify.trust import TrustPolicy

__all__ = ["BATCH_SIZE", "MAX_BATCH_BYTES", "CrawlResult", "crawl", "parse_size"]

BATCH_SIZE = 1000
MAX_BATCH_BYTES = 256 * 1024 * 1024
ProgressFn = Callable[[int, int], None]
#: Called right after each write of a crawl with (batch, table, rows written): every table that
#: got rows, then ``crawls`` once the batch is journalled.
WrittenFn = Callable[[int, str, int], None]


def parse_size(text: str) -> int:
    """Bytes from ``1048576``, ``512k``, ``32M``, ``1GiB`` (binary units); InputError if not."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text.lower())
    if not match or int(match[1]) <= 0:
        raise InputError(f"not a size: {text!r} (examples: 1048576, 512K, 32M, 1G)")
    exponent: int = " kmg".index(match[2] or " ")
    return int(match[1]) << (10 * exponent)


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
    warnings: list[str] = field(default_factory=list)


def _batches(
    source: Source, known: tuple[_Known, _Known], tally: _Tally, batch_size: int, max_bytes: int
) -> Iterator[list[Unit]]:
    """The units not in the lake yet, loaded, in batches of at most ``batch_size`` units and
    about ``max_bytes`` bytes. Loading runs ``source.fetch_concurrency`` threads at a time."""

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
            if candidate.key in attested:
                tally.already += 1
                continue
            if candidate.key in published:
                continue
            tally.discovered += 1
            pending.append(candidate)
            if len(pending) >= group:
                yield from flush_pending()
        yield from flush_pending()
        if batch:
            yield batch


def crawl(
    source: Source | Store,
    lake_root: Path,
    policy: TrustPolicy,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_batch_bytes: int = MAX_BATCH_BYTES,
    max_document_size: int = MAX_DOCUMENT_SIZE,
    jobs: int | None = None,
    progress: ProgressFn | None = None,
    on_written: WrittenFn | None = None,
) -> CrawlResult:
    """Crawl ``source`` into the lake at ``lake_root``; see the module doc for the guarantees.

    ``jobs``: worker processes for verification (default: one per core; 1: none).
    ``progress``: called with (units done, units found) after each batch. ``on_written``: see
    :data:`WrittenFn` (the tests stop the crawl there to prove it resumes). The source is not
    closed: whoever opened it closes it.
    """
    src = as_source(source, max_document_size=max_document_size)
    now = now or datetime.now(UTC)
    started = time.monotonic()
    totals: Counter[str] = Counter()
    outcomes = Outcomes()
    published: Counter[str] = Counter()
    tally = _Tally()
    ingested = batches = others = 0
    crawl_id = str(uuid.uuid4())
    with writer_lock(lake_root), Inspector(policy, now, jobs) as inspector:
        attested, in_lake = begin(lake_root, crawl_id, src.ref)
        known = (_Known(attested), _Known(in_lake))
        appender = Appender(lake_root)
        contracts_seen = column_values(lake_root, CONTRACT_REQUIREMENTS, "contract_digest")
        replays = Replays(lake_root)

        def write(units: list[Unit], tables: Tables, batch: int) -> None:
            nonlocal ingested, others
            fixes = replays.settle(tables, units)  # one set of trusted rows per statement
            reqs = tables.get(CONTRACT_REQUIREMENTS.name)
            if reqs is not None:  # one set of requirement rows per contract digest, lake-wide
                kept = owned_requirements(reqs.to_pylist(), contracts_seen)
                tables[CONTRACT_REQUIREMENTS.name] = reqs.from_pylist(kept, schema=reqs.schema)
            in_batch: Counter[str] = Counter()
            for table in UNIT_TABLES:  # data tables first, verifications last
                if table is VERIFICATIONS:
                    replays.apply(fixes)
                data = tables.get(table.name)
                written = (
                    appender.append(table, _stamped(data, crawl_id, batch))
                    if data is not None
                    else 0
                )
                in_batch[table.name] += written
                if written and on_written is not None:
                    on_written(batch, table.name, written)
            if in_batch.total():
                journal.journal_batch(appender, crawl_id, batch, in_batch)
                if on_written is not None:
                    on_written(batch, CRAWLS.name, in_batch.total())
            totals.update(in_batch)
            if VERIFICATIONS.name in tables:
                outcomes.add(tables[VERIFICATIONS.name])
            attesting = sum(1 for u in units if u.documents or u.error)
            published.update(u.published.kind for u in units if u.published is not None)
            ingested += attesting
            others += sum(1 for u in units if not (u.documents or u.error or u.published))
            if progress:
                progress(ingested + others + published.total(), tally.discovered)

        # Batch k is verified (in workers) while batch k+1 is read; writes stay in order.
        in_flight: tuple[list[Unit], Callable[[], Tables]] | None = None
        for units in _batches(src, known, tally, max(1, batch_size), max_batch_bytes):
            batches += 1
            submitted = (units, inspector.submit(units))
            if in_flight is not None:
                write(in_flight[0], in_flight[1](), batches - 1)
            in_flight = submitted
        if in_flight is not None:
            write(in_flight[0], in_flight[1](), batches)
        journal.journal_completed(appender, crawl_id, src.ref, totals)
    return CrawlResult(
        source=src.ref,
        lake=str(lake_root),
        discovered=ingested + tally.already,
        already_known=tally.already,
        ingested=ingested,
        verified=outcomes.units[VERIFIED],
        not_verified=outcomes.units[NOT_VERIFIED],
        reasons=dict(outcomes.reasons),
        rows={t.name: totals[t.name] for t in UNIT_TABLES},
        documents=totals[VERIFICATIONS.name],
        documents_verified=outcomes.documents[VERIFIED],
        documents_not_verified=outcomes.documents[NOT_VERIFIED],
        other_manifests=others,
        published=dict(published),
        batches=batches,
        seconds=time.monotonic() - started,
        warnings=tuple(tally.warnings + src.warnings()),
        crawl_id=crawl_id,
    )
