"""A run's home: the manifest whose name ``runs.source`` gives (see :mod:`attestlake.crawl.replay`).

The collector pushes a run's record under a tag of its own (``run-<id>``, ``run-<id>-failure``,
``run-<id>-cancellation``) with every SBOM file the run's statement names as a layer; that
manifest is the run's home. A manifest is told to be one from its ``runs`` row (the tag it was
found under) and the SBOM materials of its run statement (:class:`RunStatement`); a
:class:`SourceFix` moves ``runs.source`` of a row already in the lake to the home.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from attestlake.crawl.chunk import Inspected
from attestlake.lake.tables import MATERIALS, RUNS

#: Run statuses by the tag suffix the collector pushes their record under.
_RUN_TAGS = ("", "-failure", "-cancellation")


def is_run_tag(source: str | None, run_id: str | None) -> bool:
    """True when ``source`` is a tag under which the collector pushes the record of
    ``run_id``."""
    if not source or not run_id:
        return False
    return any(source.endswith(f":run-{run_id}{suffix}") for suffix in _RUN_TAGS)


@dataclass
class RunStatement:
    """What the home rule needs of one run statement in one manifest."""

    run_id: str | None
    source: str | None
    sboms: set[str] = field(default_factory=set)  # SBOM digests the statement names


@dataclass(frozen=True)
class SourceFix:
    """Set ``runs.source`` of the row of (manifest, envelope) in the lake."""

    manifest_digest: str
    envelope_digest: str
    source: str


def runs_in(
    runs: Iterable[dict[str, Any]], materials: Iterable[dict[str, Any]]
) -> dict[tuple[str, str], RunStatement]:
    """(manifest, envelope) -> _Run, from runs rows and the materials rows of their manifests."""
    found: dict[tuple[str, str], RunStatement] = {}
    by_run: dict[tuple[str, str | None], list[RunStatement]] = {}
    for row in runs:
        run = RunStatement(row["run_id"], row["source"])
        found[(row["manifest_digest"], row["envelope_digest"])] = run
        by_run.setdefault((row["manifest_digest"], row["run_id"]), []).append(run)
    for row in materials:
        kind, digest = row["type"] or "", row["digest"]
        if kind.startswith("SBOM_") and digest:
            for run in by_run.get((row["manifest_digest"], row["run_id"]), []):
                run.sboms.add(digest)
    return found


@dataclass(frozen=True)
class BatchHomes:
    """The run statements of one batch, to tell which of its manifests is a run's home."""

    runs: dict[tuple[str, str], RunStatement]
    units: dict[str, Inspected]

    @classmethod
    def of(cls, tables: dict[str, pa.Table], units: Sequence[Inspected]) -> BatchHomes:
        empty = pa.table({})
        batch_runs = runs_in(
            tables.get(RUNS.name, empty).to_pylist(), tables.get(MATERIALS.name, empty).to_pylist()
        )
        units_by_key = {u.key: u for u in units}
        return cls(batch_runs, units_by_key)

    def home(self, manifest: str, envelope: str) -> bool:
        """Whether the run statement of (manifest, envelope) is in its home: a manifest tagged
        as the collector tags the run's record, carrying every SBOM file it names."""
        run = self.runs.get((manifest, envelope))
        unit = self.units.get(manifest)
        return (
            run is not None
            and unit is not None
            and is_run_tag(run.source, run.run_id)
            and run.sboms <= unit.evidence
        )


def move_run_sources(tables: dict[str, pa.Table], run_sources: dict[tuple[str, str], str]) -> None:
    """Set ``runs.source`` of the batch's runs rows whose home a replay in the batch is."""
    if run_sources:
        rows = tables[RUNS.name].to_pylist()
        for row in rows:
            fixed = run_sources.get((row["manifest_digest"], row["envelope_digest"]))
            if fixed is not None:
                row["source"] = fixed
        tables[RUNS.name] = pa.Table.from_pylist(rows, schema=tables[RUNS.name].schema)
