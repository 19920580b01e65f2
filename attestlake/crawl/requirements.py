"""Whose rows a contract's requirements are: one set of ``contract_requirements`` rows per
contract digest, from the same place whatever order the units are read in.

Many units name one contract file (every run checked against it, and its published revision).
Its requirement rows are written once, and name the unit they were read from
(``manifest_digest``, ``source``, ``published_at``): the **owner**. A published revision owns
them whenever one is in the lake (the one with the smallest manifest digest, if the same file
was published twice); otherwise the first run found that used the file. A published revision
read after the owner takes the rows over: their three provenance columns are updated in place
(one Delta commit per contract digest) once the batch's ``published_documents`` and
``verifications`` rows are written (a crawl killed just before leaves the old owner: a lake
that agrees with itself, only not the canonical one). So the lake is the same whatever order
crawls, shards (``crawl --shard``) and re-evaluations read the units in, as long as every
contract file some run used is published (two runs of an unpublished contract file in two
shards: the first one found owns it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from attestlake.lake.object_store import LakeRoot
from attestlake.lake.tables import CONTRACT_REQUIREMENTS
from attestlake.store import is_digest

# The crawl's workers use best_rows alone, and never load deltalake; the lake side loads it.

_PROVENANCE = ("manifest_digest", "source", "published_at")


@dataclass(frozen=True)
class Owner:
    """The unit a contract digest's requirement rows were read from."""

    manifest_digest: str
    source: str | None
    published_at: Any

    @property
    def published(self) -> bool:
        return self.published_at is not None and self.source is not None

    def outranks(self, other: Owner) -> bool:
        """Whether this unit owns the rows rather than ``other``: a published revision over a
        run, the smaller manifest digest between two published revisions."""
        if self.published != other.published:
            return self.published
        return self.published and self.manifest_digest < other.manifest_digest


def best_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requirement rows of the best-ranked unit per contract digest among ``rows`` (the
    rest would only be dropped later), in their order."""
    best: dict[str, Owner] = {}
    for row in rows:
        owner = Owner(*(row[c] for c in _PROVENANCE))
        current = best.get(row["contract_digest"])
        if current is None or owner.outranks(current):
            best[row["contract_digest"]] = owner
    return [r for r in rows if best[r["contract_digest"]].manifest_digest == r["manifest_digest"]]


class RequirementOwners:
    """The owner of each contract digest in the lake, and the batch's rows to keep."""

    def __init__(self, root: LakeRoot) -> None:
        from attestlake.lake.delta import guarded, is_table, open_table

        self.root = root
        self.owners: dict[str, Owner] = {}
        if is_table(root, CONTRACT_REQUIREMENTS):
            columns = ["contract_digest", *_PROVENANCE]
            rows = guarded(
                root,
                CONTRACT_REQUIREMENTS,
                "read",
                lambda: (
                    open_table(root, CONTRACT_REQUIREMENTS)
                    .to_pyarrow_dataset()
                    .to_table(columns=columns)
                ),
            ).to_pylist()
            for row in rows:
                self._consider(row["contract_digest"], Owner(*(row[c] for c in _PROVENANCE)))

    def _consider(self, digest: str, owner: Owner) -> bool:
        """Make ``owner`` the owner of ``digest`` if it outranks the current one."""
        current = self.owners.get(digest)
        if current is not None and not owner.outranks(current):
            return False
        self.owners[digest] = owner
        return True

    def settle(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
        """The batch's requirement rows to write (digests new to the lake, from their best
        unit of the batch), and the digests already in the lake whose rows a unit of the
        batch takes over (:meth:`apply` writes that)."""
        had = set(self.owners)
        by_unit: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            by_unit.setdefault((row["contract_digest"], row["manifest_digest"]), []).append(row)
        taken: set[str] = set()
        for (digest, _), unit_rows in by_unit.items():
            first = unit_rows[0]
            if self._consider(digest, Owner(*(first[c] for c in _PROVENANCE))):
                taken.add(digest)
        kept = [
            row
            for (digest, unit), unit_rows in by_unit.items()
            if digest not in had and self.owners[digest].manifest_digest == unit
            for row in unit_rows
        ]
        return kept, sorted(taken & had)

    def apply(self, digests: list[str]) -> None:
        """Move the rows of each of ``digests`` to its new owner (one commit each)."""
        from attestlake.lake.delta import guarded, open_table

        for digest in digests:
            if not is_digest(digest):
                continue
            owner = self.owners[digest]
            if not owner.published:
                continue
            values = {
                "manifest_digest": owner.manifest_digest,
                "source": owner.source,
                "published_at": owner.published_at,
            }
            predicate = f"contract_digest = '{digest}'"

            def move(values: dict[str, Any] = values, predicate: str = predicate) -> None:
                open_table(self.root, CONTRACT_REQUIREMENTS).update(
                    new_values=values, predicate=predicate
                )

            guarded(self.root, CONTRACT_REQUIREMENTS, "update", move)
