"""The crawler: discover attestations in a store, verify each, and mirror them into the lake.

Incremental and idempotent: a manifest whose verification row is in the lake is never read
again, so a second crawl ingests nothing and a crawl after new pushes ingests only those.
Rows are written in batches, the trusted tables first and ``verifications`` last; a crawl that
was interrupted between the two leaves rows that no verification names, and the next crawl
deletes those before it starts, so the lake ends exactly as an uninterrupted crawl leaves it.
Writers of one lake take turns under a lock. A bad attestation never stops the crawl: it
becomes a ``not_verified`` row with its reason, and never reaches the trusted tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from attestlake import lake as lakeio
from attestlake.dsse import ENVELOPE_MEDIA_TYPE, MAX_ENVELOPE_SIZE
from attestlake.errors import StoreError
from attestlake.normalize import Rows, as_object, run_rows
from attestlake.store import Manifest, Store, sha256_digest
from attestlake.tables import CONTRACT_REQUIREMENTS, TABLES, VERIFICATIONS
from attestlake.trust import TrustPolicy
from attestlake.verify import NOT_VERIFIED, Outcome, verify_envelope

BATCH_SIZE = 2000
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

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "lake": self.lake,
            "discovered": self.discovered,
            "already_known": self.already_known,
            "ingested": self.ingested,
            "verified": self.verified,
            "not_verified": self.not_verified,
            "reasons": dict(sorted(self.reasons.items())),
            "rows": dict(sorted(self.rows.items())),
        }


def list_manifests(store: Store) -> Iterator[tuple[str, str]]:
    """(tag, manifest digest) for every tag in the store."""
    lister = getattr(store, "list_manifests", None)
    if callable(lister):
        yield from lister()
        return
    for tag in store.tags():
        yield tag, store.resolve(tag)


def _envelope_layers(manifest: Manifest) -> list[str]:
    return [layer.digest for layer in manifest.layers if layer.media_type == ENVELOPE_MEDIA_TYPE]


def inspect_manifest(
    store: Store, digest: str, tag: str, policy: TrustPolicy, now: datetime
) -> Rows:
    """Verify and normalise every envelope of one manifest. Never raises on bad content."""
    rows = Rows()
    source = f"{store.ref}:{tag}"

    def record(envelope_digest: str, outcome: Outcome) -> None:
        pred = as_object((outcome.statement or {}).get("predicate"))
        wf, run = as_object(pred.get("workflow")), as_object(pred.get("run"))
        rows.add(
            VERIFICATIONS.name,
            {
                "manifest_digest": digest,
                "envelope_digest": envelope_digest,
                "source": source,
                "status": outcome.status,
                "reason": outcome.reason,
                "detail": outcome.detail,
                "signer": outcome.signer,
                "key_id": outcome.key_id,
                "predicate_type": outcome.predicate_type,
                "run_id": run.get("id") if isinstance(run.get("id"), str) else None,
                "workflow": wf.get("name") if isinstance(wf.get("name"), str) else None,
                "project": wf.get("project") if isinstance(wf.get("project"), str) else None,
                "crawled_at": now,
                "crawl_date": now.date().isoformat(),
            },
        )
        if outcome.verified:
            rows.extend(
                run_rows(
                    outcome, manifest_digest=digest, envelope_digest=envelope_digest, source=source
                )
            )

    try:
        manifest = store.get_manifest(digest)
    except StoreError as exc:
        record(digest, Outcome(NOT_VERIFIED, "malformed", f"manifest unreadable: {exc}"))
        return rows
    envelopes = _envelope_layers(manifest)
    if not envelopes:
        return rows  # not an attestation (an image, a contract, ...): nothing to record
    for env_digest in envelopes:
        try:
            raw = store.get_blob(env_digest, max_size=MAX_ENVELOPE_SIZE)
        except StoreError as exc:
            record(env_digest, Outcome(NOT_VERIFIED, "malformed", f"envelope unreadable: {exc}"))
            continue
        record(sha256_digest(raw), verify_envelope(raw, policy))
    return rows


def crawl(
    store: Store,
    lake_root: Path,
    policy: TrustPolicy,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: ProgressFn | None = None,
) -> CrawlResult:
    """Crawl ``store`` into the lake at ``lake_root``; see the module doc for the guarantees."""
    now = now or datetime.now(UTC)
    with lakeio.writer_lock(lake_root):
        lakeio.create_tables(lake_root)
        known = lakeio.column_values(lake_root, VERIFICATIONS, "manifest_digest")
        for table in TABLES:
            if table is VERIFICATIONS:
                continue
            orphans = lakeio.column_values(lake_root, table, "manifest_digest") - known
            lakeio.delete_where_in(lake_root, table, "manifest_digest", orphans)
        contracts_seen = lakeio.column_values(lake_root, CONTRACT_REQUIREMENTS, "contract_digest")

        todo: list[tuple[str, str]] = []
        seen: set[str] = set()
        discovered = already = 0
        for tag, digest in list_manifests(store):
            if digest in seen:
                continue
            seen.add(digest)
            discovered += 1
            if digest in known:
                already += 1
            else:
                todo.append((tag, digest))

        totals: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        ingested = 0
        for start in range(0, len(todo), batch_size):
            batch = Rows()
            for tag, digest in todo[start : start + batch_size]:
                batch.extend(inspect_manifest(store, digest, tag, policy, now))
            new_reqs: list[dict[str, object]] = []
            owner: dict[str, str] = {}  # one set of requirement rows per contract digest
            for row in batch.by_table.get(CONTRACT_REQUIREMENTS.name, []):
                cdigest = row["contract_digest"]
                if cdigest in contracts_seen:
                    continue
                if owner.setdefault(cdigest, row["manifest_digest"]) == row["manifest_digest"]:
                    new_reqs.append(row)
            contracts_seen |= set(owner)
            batch.by_table[CONTRACT_REQUIREMENTS.name] = new_reqs
            for table in TABLES:  # data tables first, verifications last
                rows = batch.by_table.get(table.name, [])
                lakeio.append(lake_root, table, rows)
                totals[table.name] += len(rows)
            for row in batch.by_table.get(VERIFICATIONS.name, []):
                statuses[row["status"]] += 1
                if row["reason"]:
                    reasons[row["reason"]] += 1
            ingested += min(batch_size, len(todo) - start)
            if progress:
                progress(ingested, len(todo))
    return CrawlResult(
        source=store.ref,
        lake=str(lake_root),
        discovered=discovered,
        already_known=already,
        ingested=ingested,
        verified=statuses["verified"],
        not_verified=statuses[NOT_VERIFIED],
        reasons=dict(reasons),
        rows={t.name: totals[t.name] for t in TABLES},
    )
