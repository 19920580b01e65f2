"""Re-evaluation: the lake's verdicts made again under another trust policy, without the store.

Every verdict records the digest of the trust policy it was made under
(``verifications.policy_digest``, and the crawl journal). When the policy changes (a key
added, revoked or rescoped, an identity corrected), :func:`reverify` re-reads every crawl unit
from the bytes the lake kept (``blobs``), in the order the crawls first read them, verifies and
normalises each again exactly as a crawl would (into a scratch lake inside the lake's
directory), records in ``trust_changes`` every document whose verdict changed, and replaces
every table but ``blobs`` and ``trust_changes`` with the scratch lake's, table by table,
``verifications`` last. The result is row for row the lake a first crawl of the same units
under the new policy would have written, but for the time each unit was first seen, which is
kept (it is what a revocation date is compared with for key signatures). ``attestlake crawl``
does this first whenever its policy differs from the lake's.

A re-evaluation is journalled as a crawl of the source :data:`~attestlake.lake.journal.REVERIFY`
(:mod:`attestlake.lake.journal`); one that was interrupted mid-way leaves tables of both
policies, which the next crawl or re-evaluation (any policy) rebuilds before anything else, and
``attestlake lake check`` reports. A lake with crawl units whose bytes were not kept (crawled by
an older version) cannot be re-evaluated, nor one whose ``blobs`` rows name no unit, source or
known role (:func:`~attestlake.crawl.kept.blobs_damage`): :func:`reverify` says so and changes nothing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from deltalake import write_deltalake

from attestlake.crawl import trust_changes
from attestlake.crawl.kept import blobs_damage
from attestlake.crawl.kept_reading import KeptSource, check_statements_kept
from attestlake.crawl.sources import Source
from attestlake.errors import LakeError
from attestlake.lake.crawl_start import begin
from attestlake.lake.delta import guarded, is_table, open_table, storage_options, table_location
from attestlake.lake.file_layout import writer_properties
from attestlake.lake.journal import BATCH, REVERIFY, journal_completed, journal_row, read_journal
from attestlake.lake.journal import now as journal_now
from attestlake.lake.maintain import refresh as refresh_maintained
from attestlake.lake.object_store import LakeRoot, ObjectLake
from attestlake.lake.scan import column_values
from attestlake.lake.tables import (
    BLOBS,
    CRAWLS,
    PUBLISHED_DOCUMENTS,
    REBUILT_TABLES,
    TRUST_CHANGES,
    VERIFICATIONS,
    Table,
)
from attestlake.lake.write import Appender, writer_lock
from attestlake.verify.trust import TrustPolicy

__all__ = [
    "NoKeptBytes",
    "ReverifyResult",
    "legacy_units",
    "needs_reverify",
    "require_policy",
    "reverify",
    "reverify_locked",
]

#: Called after each table is replaced, with its name (the tests stop a re-evaluation there).
SwappedFn = Callable[[str], None]
_READ_ROWS = 256
#: The scratch lakes of re-evaluations, inside the lake directory.
_SCRATCH = ".reverify-"
_VERDICT = ("status", "reason", "signer")


@dataclass(frozen=True)
class ReverifyResult:
    """What a re-evaluation did."""

    lake: str
    crawl_id: str
    policy_before: str | None
    policy_after: str
    units: int
    documents: int
    #: Documents whose verdict changed, by change: ``trusted`` (now verified), ``untrusted``
    #: (no longer verified), ``reason`` (still not verified, another reason or signer).
    changes: dict[str, int]
    rows_before: dict[str, int]
    rows_after: dict[str, int]
    seconds: float
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "lake": self.lake,
            "crawl_id": self.crawl_id,
            "policy_before": self.policy_before,
            "policy_after": self.policy_after,
            "units": self.units,
            "documents": self.documents,
            "changes": self.changes,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
        }

    def describe(self) -> list[str]:
        c = self.changes
        lines = [
            f"re-evaluated {self.documents} document(s) of {self.units} crawl unit(s) under "
            f"trust policy {self.policy_after} (was {self.policy_before or 'unknown'})",
            f"  {c.get('trusted', 0)} now trusted, {c.get('untrusted', 0)} no longer trusted, "
            f"{c.get('reason', 0)} with another reason or signer; "
            "see the saved query trust_changes",
        ]
        moved = [
            f"{name} {before} -> {self.rows_after.get(name, 0)}"
            for name, before in self.rows_before.items()
            if before != self.rows_after.get(name, 0)
        ]
        if moved:
            lines.append("  rows: " + ", ".join(moved))
        return lines + [f"warning: {w}" for w in self.warnings]


def legacy_units(root: LakeRoot) -> set[str]:
    """Crawl units in the lake whose bytes ``blobs`` does not hold (crawled by a version that
    did not keep them): their verdicts cannot be made again."""
    units = column_values(root, VERIFICATIONS, "manifest_digest") | column_values(
        root, PUBLISHED_DOCUMENTS, "manifest_digest"
    )
    return units - column_values(root, BLOBS, "manifest_digest")


def needs_reverify(root: LakeRoot, policy: TrustPolicy) -> bool:
    """Whether the lake's verdicts must be made again before a crawl under ``policy``: they
    were made under another policy (or one no journal recorded), or a re-evaluation was
    interrupted."""
    if not is_table(root, VERIFICATIONS):
        return False
    if not is_table(root, CRAWLS):
        return bool(column_values(root, VERIFICATIONS, "manifest_digest"))
    journal, _ = read_journal(root)
    if journal.reverify_pending:
        return True
    return journal.any_completed and journal.policy_digest != policy.digest


def _rows_per_table(root: LakeRoot) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in REBUILT_TABLES:
        if is_table(root, table):
            dataset = guarded(root, table, "read", open_table(root, table).to_pyarrow_dataset)
            out[table.name] = int(dataset.count_rows())
    return out


def _replace(root: LakeRoot, scratch: Path, table: Table) -> None:
    """Replace ``table`` of the lake with the scratch lake's, in one Delta commit."""
    source = open_table(scratch, table).to_pyarrow_dataset()

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source.to_batches():
            yield from pa.Table.from_batches([batch]).select(names).cast(table.schema).to_batches()

    names = table.schema.names
    data = pa.RecordBatchReader.from_batches(table.schema, batches())
    target = table_location(root, table)

    def write() -> None:
        write_deltalake(
            target,
            data,
            mode="overwrite",
            partition_by=list(table.partition_by) or None,
            schema_mode="overwrite",
            storage_options=storage_options(root),
            writer_properties=writer_properties(table),
        )

    guarded(root, table, "replace", write)


def _journal_batches(root: LakeRoot, scratch: Path, crawl_id: str) -> int:
    """Journal in the lake the batches the scratch crawl wrote (same rows per table), so
    the replaced tables agree with the journal; return how many."""
    journal, _ = read_journal(scratch)
    at = journal_now()
    entries = []
    for (cid, batch), per_table in sorted(journal.written.items()):
        if cid != crawl_id:
            continue
        rows = {t: n for t, n in sorted(per_table.items()) if t != BLOBS.name and n}
        entries.append(
            journal_row(
                {
                    "crawl_id": crawl_id,
                    "event": BATCH,
                    "batch": batch,
                    "at": at,
                    "rows": json.dumps(rows),
                }
            )
        )
    if entries:
        Appender(root).append(CRAWLS, entries)
    return len(entries)


def require_policy(root: LakeRoot, policy: TrustPolicy) -> None:
    """LakeError unless the lake's verdicts were made under ``policy`` (and no re-evaluation
    is pending): an answer from it then follows that policy."""
    journal, _ = read_journal(root)
    if journal.reverify_pending or journal.policy_digest != policy.digest:
        raise LakeError(
            f"the lake's verdicts were made under trust policy {journal.policy_digest or 'unknown'}"
            f", not {policy.digest} ({policy.source}): run 'attestlake reverify --lake {root} "
            f"--trust {policy.source}' first"
        )


class NoKeptBytes(LakeError):
    """The lake holds crawl units whose bytes were not kept: no re-evaluation is possible."""

    def __init__(self, units: int, message: str) -> None:
        super().__init__(message)
        self.units = units


class _Crawled(Protocol):
    @property
    def documents(self) -> int: ...


class Crawler(Protocol):
    """The crawler (:func:`attestlake.crawl.crawl.crawl`), which calls this module first."""

    def __call__(
        self,
        source: Source,
        lake_root: LakeRoot,
        policy: TrustPolicy,
        *,
        jobs: int | None,
        crawl_id: str,
        allow_empty: bool,
    ) -> _Crawled: ...


def _scratch_crawl(
    crawler: Crawler,
    root: LakeRoot,
    scratch: Path,
    policy: TrustPolicy,
    crawl_id: str,
    jobs: int | None,
) -> tuple[int, int]:
    """Crawl the lake's kept units into the scratch lake; (units, documents) read."""
    source = KeptSource(root)
    result = crawler(source, scratch, policy, jobs=jobs, crawl_id=crawl_id, allow_empty=True)
    check_statements_kept(root, scratch, source.restored["documents"])
    return source.count, result.documents


def _scratch_directory(root: LakeRoot) -> Path:
    """A new directory for the scratch lake: in a local lake's directory (on its disk; those
    left by a re-evaluation that was killed are deleted first), in the machine's temporary
    directory for a lake in object storage."""
    if isinstance(root, ObjectLake):
        return Path(tempfile.mkdtemp(prefix=_SCRATCH))
    for stale in root.glob(f"{_SCRATCH}*"):  # left by a re-evaluation that was killed
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=_SCRATCH, dir=root))


def reverify_locked(
    root: LakeRoot,
    policy: TrustPolicy,
    crawler: Crawler,
    *,
    jobs: int | None = None,
    on_swapped: SwappedFn | None = None,
) -> ReverifyResult:
    """:func:`reverify`, for a caller that holds the lake's writer lock (the crawler)."""
    started = time.monotonic()
    legacy = legacy_units(root)
    if legacy:
        raise NoKeptBytes(
            len(legacy),
            f"the lake {root} holds {len(legacy)} crawl unit(s) (e.g. {min(legacy)}) crawled by "
            "a version of attestlake that did not keep their bytes: their verdicts cannot be "
            "made again under another trust policy. Crawl the stores into a new lake directory.",
        )
    damage = blobs_damage(root)
    if damage:
        raise LakeError(
            f"the lake {root}'s blobs table is damaged ({damage}): the bytes the crawls read "
            "cannot be read back from it, so its verdicts cannot be made again; nothing was "
            "changed. Restore the lake, or crawl the stores into a new lake directory."
        )
    journal, _ = read_journal(root)
    crawl_id = str(uuid.uuid4())
    begin(root, crawl_id, REVERIFY, policy.digest)
    rows_before = _rows_per_table(root)
    scratch = _scratch_directory(root)
    try:
        units, documents = _scratch_crawl(crawler, root, scratch, policy, crawl_id, jobs)
        found = scratch / "trust_changes.parquet"  # not a table: no lake reads it
        changed = trust_changes.find(root, scratch, found)
        at = journal_now()
        batches = _journal_batches(root, scratch, crawl_id)
        for table in REBUILT_TABLES:  # verifications last, as a crawl writes them
            _replace(root, scratch, table)
            if on_swapped is not None:
                on_swapped(table.name)
        rows_after = _rows_per_table(scratch)
        appender = Appender(root)
        counted = trust_changes.append(
            appender,
            found,
            policies=(journal.policy_digest, policy.digest),
            at=at,
            crawl_id=crawl_id,
            crawl_batch=batches,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    written = {**rows_after, TRUST_CHANGES.name: changed}
    journal_completed(appender, crawl_id, REVERIFY, written, policy.digest)
    return ReverifyResult(
        lake=str(root),
        crawl_id=crawl_id,
        policy_before=journal.policy_digest,
        policy_after=policy.digest,
        units=units,
        documents=documents,
        changes=dict(counted),
        rows_before=rows_before,
        rows_after=rows_after,
        seconds=time.monotonic() - started,
    )


def reverify(
    root: LakeRoot,
    policy: TrustPolicy,
    crawler: Crawler,
    *,
    jobs: int | None = None,
    on_swapped: SwappedFn | None = None,
) -> ReverifyResult:
    """Make every verdict of the lake at ``root`` again under ``policy`` (see the module doc),
    under the lake's writer lock, with ``crawler`` (:func:`attestlake.crawl.crawl.crawl`: see
    :func:`attestlake.crawl.job.reverify_job`). ``on_swapped``: see :data:`SwappedFn`."""
    if not is_table(root, VERIFICATIONS):
        raise LakeError(f"{root} is not a lake (no verifications table): nothing to re-evaluate")
    with writer_lock(root):
        result = reverify_locked(root, policy, crawler, jobs=jobs, on_swapped=on_swapped)
        refresh_maintained(root)
        return result
