"""The deploy gate without a lake: straight from the stores, for admission-style use.

:func:`gate_from_stores` reads the stores (where the runs were pushed, and SecOps's store of
published contracts, inventory and policies) with the crawler itself, into a scratch lake in a
temporary directory, under the trust policy: every document is verified and normalised as a
crawl does it, and a statement found in several manifests (the run record and its copy
attached to the image) reaches the trusted tables once. The scratch lake is then asked
:func:`attestlake.audit.gate.gate`, the lake gate's own query and policies, so the answer is
the one ``gate --lake`` gives after a crawl of the same stores. The scratch lake is deleted
afterwards; nothing is written anywhere else.

The answer needs every store read whole: a store that failed while it was read (a unit
skipped, a repository or referrers index unreadable) could hide a newer contract revision or
an inventory change, so it is an error (exit 1), never an answer; so is a store that lists
nothing (a reference named wrong).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from attestlake.audit.gate import GateResult, check_required, gate
from attestlake.audit.query_files import SavedQuery
from attestlake.crawl.crawl import BATCH_SIZE
from attestlake.crawl.crawl_result import CrawlResult
from attestlake.crawl.job import crawl_job
from attestlake.errors import EmptySource, StoreError
from attestlake.lake.lake import Lake

#: What the crawler's refusal of an empty store suggests (an option the gate does not have).
_CRAWL_HINT = "\npass --allow-empty if an empty source is expected"


class IncompleteRead(StoreError):
    """A store could not be read whole: the gate does not answer from part of it."""


@dataclass(frozen=True)
class StoreGate:
    """The gate's answer from the stores, and what reading them found."""

    result: GateResult
    crawl: CrawlResult


def gate_from_stores(
    stores: Sequence[str],
    trust: Path,
    digest: str,
    subject: str | None = None,
    policies: Sequence[SavedQuery] = (),
    require: Sequence[str] = (),
    *,
    max_blob_size: str = "32M",
) -> StoreGate:
    """Whether the artifact with ``digest`` may ship, from ``stores`` read under the trust
    policy in ``trust`` (see the module doc)."""
    check_required(require)  # before reading anything
    with tempfile.TemporaryDirectory(prefix="attestlake-gate-") as scratch:
        lake_root = Path(scratch) / "lake"
        try:
            read = crawl_job(
                stores, lake_root, trust, batch_size=BATCH_SIZE, max_blob_size=max_blob_size, jobs=1
            )
        except EmptySource as exc:  # a store that holds nothing is named wrong: no answer
            found = str(exc).removesuffix(_CRAWL_HINT)
            raise EmptySource(
                f"{found}\ngate --from answers only from stores that hold something"
            ) from None
        if read.warnings:
            raise IncompleteRead(
                "the stores could not be read whole, so the gate does not answer: "
                + "; ".join(read.warnings[:5])
            )
        with Lake.open(lake_root) as lake:
            return StoreGate(gate(lake, digest, subject, policies, require), read)
