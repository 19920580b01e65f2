"""The crawler: discover attestations in a source, verify each, and mirror them into the lake.

Incremental and idempotent: a crawl unit (an OCI manifest, or one document of a file) whose
verification rows are in the lake is never read again, so a second crawl ingests nothing and a
crawl after new pushes ingests only those. Units are read lazily, in batches bounded in count
and bytes; each batch is verified and normalised (in parallel worker processes for large
batches, see :mod:`attestlake.inspection`) and written with one Delta commit per table, the
trusted tables first and ``verifications`` last. A crawl killed between two writes leaves rows
that no verification names; the next crawl deletes those before it starts, so the lake ends
exactly as an uninterrupted crawl leaves it. Writers of one lake take turns under a lock. A bad
attestation never stops the crawl: it becomes a ``not_verified`` row with its reason, and
never reaches the trusted tables.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from attestlake import lake as lakeio
from attestlake.errors import InputError, StoreError
from attestlake.inspection import Inspector, Tables, owned_requirements
from attestlake.sources import MAX_DOCUMENT_SIZE, Candidate, Source, Unit, as_source
from attestlake.store import Store
from attestlake.tables import CONTRACT_REQUIREMENTS, TABLES, VERIFICATIONS
from attestlake.trust import TrustPolicy
from attestlake.verify import NOT_VERIFIED, VERIFIED

BATCH_SIZE = 1000
MAX_BATCH_BYTES = 256 * 1024 * 1024
#: Test-only hook (documented in docs/lake.md): ``BATCH:TABLE`` makes the crawler SIGKILL
#: itself right after writing TABLE (``first``: the first table written) in batch BATCH.
KILL_ENV = "ATTESTLAKE_TEST_KILL_AT"
ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class CrawlResult:
    """What one crawl did; the CLI and reports render it."""

    source: str
    lake: str
    discovered: int
    already_known: int
    ingested: int
    verified: int
    not_verified: int
    reasons: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    #: Manifests that carry no attestation (images, contracts): read, nothing recorded.
    other_manifests: int = 0
    batches: int = 0
    seconds: float = 0.0
    #: Units skipped because the store failed (they are tried again by the next crawl), and
    #: parts of the source that could not be listed.
    warnings: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """The summary a person reads, one line each."""
        rate = f", {self.documents / self.seconds:.0f} documents/s" if self.seconds > 0 else ""
        lines = [
            f"crawled {self.source}: {self.discovered} attestations, {self.already_known} "
            f"already in the lake, {self.ingested} new: {self.verified} verified, "
            f"{self.not_verified} not verified",
            *(f"  not verified ({r}): {n}" for r, n in sorted(self.reasons.items())),
            f"  {self.documents} documents in {self.batches} "
            f"batch{'' if self.batches == 1 else 'es'}, {self.seconds:.1f}s{rate}",
        ]
        written = ", ".join(f"{t} {n}" for t, n in sorted(self.rows.items()) if n)
        if written:
            lines.append(f"  rows written: {written}")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines.append(f"lake: {self.lake}")
        return lines

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "lake": self.lake,
            "discovered": self.discovered,
            "already_known": self.already_known,
            "ingested": self.ingested,
            "documents": self.documents,
            "other_manifests": self.other_manifests,
            "verified": self.verified,
            "not_verified": self.not_verified,
            "reasons": dict(sorted(self.reasons.items())),
            "rows": dict(sorted(self.rows.items())),
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
        }


def parse_size(text: str) -> int:
    """Bytes from ``1048576``, ``512k``, ``32M``, ``1GiB`` (binary units); InputError if not."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text.lower())
    if not match or int(match[1]) <= 0:
        raise InputError(f"not a size: {text!r} (examples: 1048576, 512K, 32M, 1G)")
    exponent: int = " kmg".index(match[2] or " ")
    return int(match[1]) << (10 * exponent)


def _kill_point() -> tuple[int, str] | None:
    spec = os.environ.get(KILL_ENV, "")
    batch, sep, table = spec.partition(":")
    return (int(batch), table) if sep and batch.isdigit() else None


def _should_die(kill_at: tuple[int, str] | None, batch: int, table: str, first: bool) -> bool:
    if kill_at is None or kill_at[0] != batch:
        return False
    return kill_at[1] == table or (kill_at[1] == "first" and first)


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


def _clean_up(lake_root: Path) -> set[str]:
    """Delete rows of units whose verification never got written; return the known units."""
    known = lakeio.column_values(lake_root, VERIFICATIONS, "manifest_digest")
    for table in TABLES:
        if table is not VERIFICATIONS:
            orphans = lakeio.column_values(lake_root, table, "manifest_digest") - known
            lakeio.delete_where_in(lake_root, table, "manifest_digest", orphans)
    return known


@dataclass
class _Tally:
    discovered: int = 0
    already: int = 0
    warnings: list[str] = field(default_factory=list)


def _batches(
    source: Source, known: _Known, tally: _Tally, batch_size: int, max_bytes: int
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

        for candidate in source.candidates():
            if candidate.key in known:
                tally.already += 1
                continue
            known.add(candidate.key)  # also dedupes a unit found twice in this crawl
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
) -> CrawlResult:
    """Crawl ``source`` into the lake at ``lake_root``; see the module doc for the guarantees.

    ``jobs``: worker processes for verification (default: one per core; 1: none). The source
    is not closed: whoever opened it closes it.
    """
    src = as_source(source, max_document_size=max_document_size)
    now = now or datetime.now(UTC)
    started = time.monotonic()
    kill_at = _kill_point()
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    tally = _Tally()
    ingested = batches = others = 0
    with lakeio.writer_lock(lake_root), Inspector(policy, now, jobs) as inspector:
        lakeio.create_tables(lake_root)
        known = _Known(_clean_up(lake_root))
        appender = lakeio.Appender(lake_root)
        contracts_seen = lakeio.column_values(lake_root, CONTRACT_REQUIREMENTS, "contract_digest")

        def write(units: list[Unit], tables: Tables, batch: int) -> None:
            nonlocal ingested, others
            reqs = tables.get(CONTRACT_REQUIREMENTS.name)
            if reqs is not None:  # one set of requirement rows per contract digest, lake-wide
                kept = owned_requirements(reqs.to_pylist(), contracts_seen)
                tables[CONTRACT_REQUIREMENTS.name] = reqs.from_pylist(kept, schema=reqs.schema)
            first = True
            for table in TABLES:  # data tables first, verifications last
                data = tables.get(table.name)
                written = appender.append(table, data) if data is not None else 0
                totals[table.name] += written
                if written and _should_die(kill_at, batch, table.name, first):
                    os.kill(os.getpid(), signal.SIGKILL)
                first = first and not written
            if VERIFICATIONS.name in tables:
                verifications = tables[VERIFICATIONS.name]
                statuses.update(verifications.column("status").to_pylist())
                reasons.update(r for r in verifications.column("reason").to_pylist() if r)
            attesting = sum(1 for u in units if u.documents or u.error)
            ingested += attesting
            others += len(units) - attesting
            if progress:
                progress(ingested + others, tally.discovered)

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
    return CrawlResult(
        source=src.ref,
        lake=str(lake_root),
        discovered=ingested + tally.already,
        already_known=tally.already,
        ingested=ingested,
        verified=statuses[VERIFIED],
        not_verified=statuses[NOT_VERIFIED],
        reasons=dict(reasons),
        rows={t.name: totals[t.name] for t in TABLES},
        documents=totals[VERIFICATIONS.name],
        other_manifests=others,
        batches=batches,
        seconds=time.monotonic() - started,
        warnings=tuple(tally.warnings + src.warnings()),
    )
