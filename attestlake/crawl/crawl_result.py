"""What one crawl did: the counts the CLI, reports and tests read.

Attestations are counted by crawl unit (an OCI manifest, or one document of a file): a unit is
*verified* when every document in it is (a run record with its SLSA provenance is one
attestation of two documents), *not verified* when any is not; ``reasons`` counts the units
not verified by each reason their documents failed for. Documents are counted too.
Published contracts and inventories are counted apart: they are read, not verified.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED

if TYPE_CHECKING:
    from attestlake.crawl.reverify import ReverifyResult


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
    #: Manifests that carry no attestation (images, indexes): read, nothing recorded.
    other_manifests: int = 0
    batches: int = 0
    seconds: float = 0.0
    #: Units skipped because the store failed (they are tried again by the next crawl), and
    #: parts of the source that could not be listed.
    warnings: tuple[str, ...] = ()
    documents_verified: int = 0
    documents_not_verified: int = 0
    #: New published documents by kind (``contract``, ``inventory``).
    published: dict[str, int] = field(default_factory=dict)
    #: The crawl's id: its rows' ``crawl_id``, its entries in the ``crawls`` journal.
    crawl_id: str = ""
    #: The re-evaluation of the lake's verdicts that preceded the crawl (its trust policy
    #: differed from the lake's), if one did.
    reverified: ReverifyResult | None = None
    #: Published contract and inventory revisions found that the lake already holds.
    already_published: int = 0
    #: Every source crawled, in the order given; ``source`` names them all in one string.
    sources: tuple[str, ...] = ()

    def describe(self) -> list[str]:
        """The summary a person reads, one line each."""
        rate = f", {self.documents / self.seconds:.0f} documents/s" if self.seconds > 0 else ""
        lines = [*(self.reverified.describe() if self.reverified else ())]
        lines += [
            f"crawled {self.source}: {self.discovered} attestations, {self.already_known} "
            f"already in the lake, {self.ingested} new: {self.verified} verified, "
            f"{self.not_verified} not verified",
            *(f"  not verified ({r}): {n}" for r, n in sorted(self.reasons.items())),
            f"  {self.documents} documents ({self.documents_verified} verified) in "
            f"{self.batches} batch{'' if self.batches == 1 else 'es'}, {self.seconds:.1f}s{rate}",
        ]
        if self.published:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.published.items()))
            lines.append(f"  published revisions read: {kinds}")
        written = ", ".join(f"{t} {n}" for t, n in sorted(self.rows.items()) if n)
        if written:
            lines.append(f"  rows written: {written}")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines.append(f"lake: {self.lake}")
        return lines

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "sources": list(self.sources or (self.source,)),
            "lake": self.lake,
            "crawl_id": self.crawl_id,
            "discovered": self.discovered,
            "already_known": self.already_known,
            "ingested": self.ingested,
            "documents": self.documents,
            "documents_verified": self.documents_verified,
            "documents_not_verified": self.documents_not_verified,
            "other_manifests": self.other_manifests,
            "published": dict(sorted(self.published.items())),
            "already_published": self.already_published,
            "verified": self.verified,
            "not_verified": self.not_verified,
            "reasons": dict(sorted(self.reasons.items())),
            "rows": dict(sorted(self.rows.items())),
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "warnings": list(self.warnings),
            "reverified": self.reverified.to_json() if self.reverified else None,
        }


@dataclass
class Outcomes:
    """Verification outcomes added up batch by batch, per unit and per document."""

    units: Counter[str] = field(default_factory=Counter)
    documents: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, verifications: pa.Table) -> None:
        """Count one batch's ``verifications`` rows (a unit's rows are all in one batch)."""
        failed: dict[str, set[str]] = {}
        for digest, status, reason in zip(
            verifications.column("manifest_digest").to_pylist(),
            verifications.column("status").to_pylist(),
            verifications.column("reason").to_pylist(),
            strict=True,
        ):
            self.documents[status] += 1
            reasons = failed.setdefault(digest, set())
            if status != VERIFIED:
                reasons.add(reason or "unknown")
        for reasons in failed.values():
            self.units[NOT_VERIFIED if reasons else VERIFIED] += 1
            self.reasons.update(reasons)
