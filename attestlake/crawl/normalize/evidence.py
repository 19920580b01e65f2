"""The evidence files of a run, read into rows: SBOMs into ``sbom_components``
(:mod:`~attestlake.crawl.normalize.sbom`), SARIF logs into ``sarif_results``
(:mod:`~attestlake.crawl.normalize.sarif`), JUnit XML reports into ``junit_cases``
(:mod:`~attestlake.crawl.normalize.junit`) and OpenVEX documents into ``vex_statements``
(:mod:`~attestlake.crawl.normalize.openvex`).

A file is read only when a verified run statement names its digest, so every row is trusted.
Reading never raises on bad content: a file that is not what its kind says becomes one row whose
``problem`` says why (nothing else of it is kept), and at most :data:`MAX_ROWS` rows of one file
are kept, the next row then saying that the rest was not read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from attestlake.crawl.normalize import junit, openvex, sarif
from attestlake.crawl.normalize.common import Context, Rows, bounded
from attestlake.crawl.normalize.sbom import sbom_rows
from attestlake.errors import ContentError
from attestlake.lake.tables import BY_NAME, CRAWL_COLUMNS

#: Rows kept of one evidence file (hostile input bound: a SARIF log of a million results).
MAX_ROWS = 100_000

Reader = Callable[[bytes], Iterator[dict[str, Any]]]


@dataclass(frozen=True)
class EvidenceKind:
    """How the files of one material kind are read: into which table, by which reader, and
    what a file of the kind is called in a problem."""

    table: str
    read: Reader
    what: str


#: The material kinds whose files become rows of their own table (SBOMs aside).
KINDS: dict[str, EvidenceKind] = {
    "SARIF": EvidenceKind("sarif_results", sarif.results, "SARIF log"),
    "JUNIT_XML": EvidenceKind("junit_cases", junit.cases, "JUnit XML report"),
    "OPENVEX": EvidenceKind("vex_statements", openvex.statements, "OpenVEX document"),
}


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file of a run: the material that names it and its bytes."""

    kind: str
    material_name: str | None
    digest: str
    data: bytes


def evidence_rows(ctx: Context, run_id: str | None, run_date: str, file: EvidenceFile) -> Rows:
    """The rows of one evidence file of a verified run (nothing for a kind not read)."""
    if file.kind.startswith("SBOM_"):
        return sbom_rows(ctx, file.data, carrier="evidence", trusted=True)
    rows = Rows()
    kind = KINDS.get(file.kind)
    if kind is None:
        return rows
    where = {
        **_blank(kind.table),
        "run_id": run_id,
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "material_name": file.material_name,
        "material_digest": file.digest,
        "source": ctx.source,
        "run_date": run_date,
    }
    try:
        found = list(itertools.islice(kind.read(file.data), MAX_ROWS + 1))
    except ContentError as exc:
        rows.add(kind.table, {**where, "position": None, "problem": _problem(kind, str(exc))})
        return rows
    for position, row in enumerate(found[:MAX_ROWS]):
        rows.add(kind.table, {**where, **row, "position": position})
    if len(found) > MAX_ROWS:
        problem = (
            f"only the first {MAX_ROWS} rows of this {kind.what} are kept; the rest is not read"
        )
        rows.add(kind.table, {**where, "position": None, "problem": problem})
    return rows


def _blank(table: str) -> dict[str, Any]:
    """Every column of ``table`` (but those naming the crawl), NULL: the row's writer needs
    them all."""
    crawl = {name for name, _ in CRAWL_COLUMNS}
    return {name: None for name in BY_NAME[table].schema.names if name not in crawl}


def _problem(kind: EvidenceKind, reason: str) -> str:
    return f"not read as a {kind.what}: {bounded(reason)}"
