"""Replays: one signed statement found in more than one manifest.

The same signed statement is found in many manifests: the collector attaches a run's
statements to the images it built (a referrer without the evidence files), and anyone who can
write to some repository can copy an envelope into a manifest of their own: alone, beside junk
layers, under a tag or in a repository that sorts first. Whatever the manifests, a verified
statement (named by the sha256 of its signed payload, whatever envelope or bundle wraps it)
reaches the trusted tables once:

- **Anchor.** The first manifest found carrying it (in this crawl or an earlier one) is its
  anchor: its rows (``runs``, ``run_events``, ``subjects``, ``materials``, ``provenance``, ...
  and its trusted ``attestations`` row) name that manifest and envelope. Every later manifest
  carrying it adds its ``verifications`` rows only.
- **Evidence.** The evidence files a run's statement names by digest (SBOMs, SARIF logs, JUnit
  reports, OpenVEX documents: :data:`EVIDENCE`) are ingested from whichever manifest carries
  them, once per statement and file, as rows of the anchor (so they join the run's rows), their
  ``source`` the manifest they were read from.
- **Home.** ``runs.source`` is the run's home: the first manifest found that carries every SBOM
  file the statement names as a layer *and* is tagged as the collector tags a run record
  (``run-<id>``, ``run-<id>-failure``, ``run-<id>-cancellation``); until one is found, the
  anchor. A referrer, a copy without the evidence or a copy under another tag never takes
  the source from the home; the home takes it from them, also when they were ingested by an
  earlier crawl (one Delta update of the run's row, written before the home manifest's
  ``verifications``, so a crawl killed around it does it again). Only a copy carrying the
  genuine evidence under the collector's tag, found before the home, keeps the source: its
  rows are then the genuine ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from attestlake.crawl.chunk import Inspected
from attestlake.crawl.digest_set import DigestSet
from attestlake.crawl.run_home import BatchHomes, SourceFix, is_run_tag, move_run_sources, runs_in
from attestlake.lake.delta import is_table, open_table
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.scan import column_slices
from attestlake.lake.tables import (
    ATTESTATIONS,
    JUNIT_CASES,
    MATERIALS,
    RUNS,
    SARIF_RESULTS,
    SBOM_COMPONENTS,
    VERIFICATIONS,
    VEX_STATEMENTS,
    Table,
)
from attestlake.store import is_digest
from attestlake.verify.outcome import VERIFIED

#: Tables whose rows name the envelope they came from (dropped per manifest and envelope).
_BY_ENVELOPE = (
    "runs",
    "run_events",
    "subjects",
    "materials",
    "provenance",
    "witness_attestations",
    "verification_summaries",
    "sbom_components",
    "sarif_results",
    "junit_cases",
    "vex_statements",
    "link_artifacts",
    "policy_evaluations",
    "policy_violations",
    "attestations",
)
#: The tables of rows read from the evidence files a statement names, by the column that
#: names the file; ``sbom_components`` also holds SBOMs of other carriers (:func:`_of_evidence`).
EVIDENCE: dict[str, str] = {
    SBOM_COMPONENTS.name: "sbom_digest",
    SARIF_RESULTS.name: "material_digest",
    JUNIT_CASES.name: "material_digest",
    VEX_STATEMENTS.name: "material_digest",
}
_EVIDENCE_TABLES = (SBOM_COMPONENTS, SARIF_RESULTS, JUNIT_CASES, VEX_STATEMENTS)
#: An evidence row: its table's name and the row.
Evidence = tuple[str, dict[str, Any]]


def _of_evidence(table: str) -> pc.Expression | None:
    """The rows of ``table`` read from a verified statement's evidence files (None: all)."""
    if table == SBOM_COMPONENTS.name:
        return (pc.field("carrier") == "evidence") & (pc.field("trusted") == True)  # noqa: E712
    return None


def _file(item: Evidence) -> tuple[str, str | None]:
    """The evidence file an evidence row was read from: (table, file digest)."""
    table, row = item
    return table, row[EVIDENCE[table]]


def _trusted_statements(root: LakeRoot) -> Iterator[str]:
    """The statement digest (or, without one, the envelope digest) of every trusted
    attestation of the lake, read a slice of rows at a time."""
    if not is_table(root, ATTESTATIONS):
        return
    dataset = open_table(root, ATTESTATIONS).to_pyarrow_dataset()
    for read in column_slices(dataset, _TRUSTED_STATEMENT):
        trusted = read.filter(pc.fill_null(read.column("trusted"), False))
        for s, e in zip(
            trusted.column("statement_digest").to_pylist(),
            trusted.column("envelope_digest").to_pylist(),
            strict=True,
        ):
            if s or e:
                yield s or e


_TRUSTED_STATEMENT = {
    "statement_digest": pa.string(),
    "envelope_digest": pa.string(),
    "trusted": pa.bool_(),
}


def _pairs(data: pa.Table, second: str) -> pa.Array:
    return pc.binary_join_element_wise(
        pc.fill_null(data["manifest_digest"], ""), pc.fill_null(data[second], ""), "|"
    )


def _read(root: LakeRoot, table: Table, columns: list[str], where: pc.Expression) -> pa.Table:
    if not is_table(root, table):
        return table.schema.empty_table().select(columns)
    dataset = open_table(root, table).to_pyarrow_dataset()
    return dataset.to_table(columns=columns, filter=where)


def _brought_by_replays(
    replays: list[tuple[str, str, str]],
    anchors: dict[str, tuple[str, str]],
    looked_up: dict[str, tuple[tuple[str, str], set[tuple[str, str | None]], bool]],
    batch: BatchHomes,
    brought: dict[tuple[str, str], list[Evidence]],
) -> tuple[list[Evidence], list[SourceFix], dict[tuple[str, str], str]]:
    """What the replays of a batch bring their statement's anchor (in the batch, or in the lake
    as ``looked_up`` found it): the evidence rows not seen yet, as rows of the anchor; the fixes
    of runs rows in the lake; and the sources of runs rows of the batch, by anchor."""
    anchors = dict(anchors)
    seen: dict[str, set[tuple[str, str | None]]] = {}  # statement -> files of its evidence rows
    homed: dict[str, bool] = {}
    for statement, (m, e) in anchors.items():
        seen[statement] = {_file(item) for item in brought.get((m, e), [])}
        homed[statement] = batch.home(m, e)
    for statement, (anchor, lake_seen, lake_home) in looked_up.items():
        anchors[statement] = anchor
        seen[statement] = lake_seen
        homed[statement] = lake_home
    kept: list[Evidence] = []
    fixes: list[SourceFix] = []
    run_sources: dict[tuple[str, str], str] = {}
    for m, e, statement in replays:
        if statement not in anchors:  # anchored in the lake, nothing brought: just drop
            continue
        anchor = anchors[statement]
        carried = brought.get((m, e), [])
        new = {_file(item) for item in carried if _file(item)[1]} - seen[statement]
        kept += [
            (table, {**row, "manifest_digest": anchor[0], "envelope_digest": anchor[1]})
            for table, row in carried
            if (table, row[EVIDENCE[table]]) in new
        ]
        seen[statement] |= new
        if not homed.get(statement, False) and batch.home(m, e):
            homed[statement] = True
            source = str(batch.runs[(m, e)].source)
            if statement in looked_up:
                fixes.append(SourceFix(anchor[0], anchor[1], source))
            else:
                run_sources[anchor] = source
    return kept, fixes, run_sources


def _add_evidence(tables: dict[str, pa.Table], kept: list[Evidence]) -> None:
    """Append the evidence rows replays brought to the batch's tables."""
    for table in _EVIDENCE_TABLES:
        rows = [row for name, row in kept if name == table.name]
        if not rows:
            continue
        current = tables.get(table.name)
        schema = current.schema if current is not None else table.schema
        extra = pa.Table.from_pylist(rows, schema=schema)
        tables[table.name] = pa.concat_tables([current, extra]) if current is not None else extra


def _evidence_brought(tables: dict[str, pa.Table]) -> dict[tuple[str, str], list[Evidence]]:
    """The evidence rows of a batch, by (manifest, envelope)."""
    brought: dict[tuple[str, str], list[Evidence]] = {}
    for name in EVIDENCE:
        data = tables.get(name)
        if data is None:
            continue
        only = _of_evidence(name)
        for row in (data.filter(only) if only is not None else data).to_pylist():
            key = (row["manifest_digest"], row["envelope_digest"])
            brought.setdefault(key, []).append((name, row))
    return brought


class Replays:
    """The trusted statements of one lake, to settle each batch of a crawl against."""

    def __init__(self, lake_root: LakeRoot) -> None:
        self.root = lake_root
        self._known = DigestSet(_trusted_statements(lake_root))

    def forget(self) -> None:
        """Let go of the statements known (once the last batch is settled)."""
        self._known = DigestSet()

    def settle(self, tables: dict[str, pa.Table], units: Sequence[Inspected]) -> list[SourceFix]:
        """Keep one set of trusted rows per statement in ``tables`` (a batch, in the order it
        was found): drop what replays add, keep the evidence they bring, move ``runs.source``
        to the home. Returns the fixes of runs rows already in the lake, for :meth:`apply`."""
        verifications = tables.get(VERIFICATIONS.name)
        if verifications is None:
            return []
        anchors, replays = self._anchors_and_replays(verifications)
        if not replays:
            return []
        batch = BatchHomes.of(tables, units)
        brought = _evidence_brought(tables)
        looked_up = self._look_up(
            {s for m, e, s in replays if s not in anchors},
            homes={s for m, e, s in replays if batch.home(m, e)},
            with_evidence={s for m, e, s in replays if (m, e) in brought},
        )
        kept, fixes, run_sources = _brought_by_replays(replays, anchors, looked_up, batch, brought)
        self._drop(tables, {f"{m}|{e}" for m, e, _ in replays})
        _add_evidence(tables, kept)
        move_run_sources(tables, run_sources)
        return fixes

    def _anchors_and_replays(
        self, verifications: pa.Table
    ) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
        """Sort the verified documents of a batch: the anchor of each statement first found in
        it (statement -> (manifest, envelope)), and the replays of statements anchored in it or
        in the lake ((manifest, envelope, statement)). The batch's anchors become known."""
        anchors: dict[str, tuple[str, str]] = {}  # statement -> its anchor in this batch
        replays: list[tuple[str, str, str]] = []  # (manifest, envelope, statement)
        for row in verifications.select(
            ["manifest_digest", "envelope_digest", "status", "statement_digest"]
        ).to_pylist():
            if row["status"] != VERIFIED:
                continue
            m, e = row["manifest_digest"], row["envelope_digest"]
            statement = row["statement_digest"] or e
            if statement in anchors or statement in self._known:
                replays.append((m, e, statement))
            else:
                anchors[statement] = (m, e)
        for statement in anchors:
            self._known.add(statement)
        return anchors, replays

    @staticmethod
    def _drop(tables: dict[str, pa.Table], pairs: set[str]) -> None:
        """Drop the rows of replayed (manifest, envelope) pairs from every table but
        ``verifications``."""
        listed = pa.array(sorted(pairs), pa.string())
        for name, data in list(tables.items()):
            if name in _BY_ENVELOPE:
                keys = _pairs(data, "envelope_digest")
                tables[name] = data.filter(pc.invert(pc.is_in(keys, value_set=listed)))

    def _look_up(
        self, statements: set[str], *, homes: set[str], with_evidence: set[str]
    ) -> dict[str, tuple[tuple[str, str], set[tuple[str, str | None]], bool]]:
        """For statements anchored in the lake that a replay brings evidence or a home for:
        (anchor, the evidence files of its rows, whether its runs.source is a home)."""
        wanted = statements & (homes | with_evidence)
        if not wanted:
            return {}
        found = _read(
            self.root,
            ATTESTATIONS,
            ["statement_digest", "envelope_digest", "manifest_digest"],
            pc.field("statement_digest").isin(sorted(wanted)) & (pc.field("trusted") == True),  # noqa: E712
        ).to_pylist()
        anchors = {
            r["statement_digest"]: (r["manifest_digest"], r["envelope_digest"]) for r in found
        }
        manifests = sorted({m for m, _ in anchors.values()})
        in_manifests = pc.field("manifest_digest").isin(manifests)
        files = self._evidence_files(in_manifests)
        runs = runs_in(
            _read(
                self.root,
                RUNS,
                ["manifest_digest", "envelope_digest", "run_id", "source"],
                in_manifests,
            ).to_pylist(),
            _read(
                self.root, MATERIALS, ["manifest_digest", "run_id", "type", "digest"], in_manifests
            ).to_pylist(),
        )
        out: dict[str, tuple[tuple[str, str], set[tuple[str, str | None]], bool]] = {}
        for statement, anchor in anchors.items():
            mine = files.get(anchor, set())
            run = runs.get(anchor)
            sboms = (
                {d for t, d, source in mine if t == SBOM_COMPONENTS.name and source == run.source}
                if run
                else set()
            )
            is_home = run is not None and is_run_tag(run.source, run.run_id) and run.sboms <= sboms
            out[statement] = (anchor, {(t, d) for t, d, _ in mine}, is_home)
        return out

    def _evidence_files(
        self, in_manifests: pc.Expression
    ) -> dict[tuple[str, str], set[tuple[str, str | None, str | None]]]:
        """(manifest, envelope) -> the evidence files of its rows in the lake: (table, file
        digest, the source it was read from)."""
        files: dict[tuple[str, str], set[tuple[str, str | None, str | None]]] = {}
        for table in _EVIDENCE_TABLES:
            column = EVIDENCE[table.name]
            only = _of_evidence(table.name)
            rows = _read(
                self.root,
                table,
                ["manifest_digest", "envelope_digest", column, "source"],
                in_manifests & only if only is not None else in_manifests,
            )
            for r in rows.to_pylist():
                key = (r["manifest_digest"], r["envelope_digest"])
                files.setdefault(key, set()).add((table.name, r[column], r["source"]))
        return files

    def apply(self, fixes: list[SourceFix]) -> None:
        """Write the runs.source fixes of :meth:`settle` to the lake (one commit each)."""
        for fix in fixes:
            if not (is_digest(fix.manifest_digest) and is_digest(fix.envelope_digest)):
                continue
            open_table(self.root, RUNS).update(
                new_values={"source": fix.source},
                predicate=(
                    f"manifest_digest = '{fix.manifest_digest}' AND "
                    f"envelope_digest = '{fix.envelope_digest}'"
                ),
            )
