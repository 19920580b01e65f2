"""What an auditor has selected with the filters: team, project, workflow, dates, severity.

A :class:`Selection` is plain data, so every chart and table can be computed (and tested)
without widgets; :mod:`attestlake.notebook.widgets` builds one from the filter controls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from attestlake.audit.query_files import SEVERITIES, severity_rank

ALL = "All"


@dataclass(frozen=True)
class Selection:
    """``None`` means "all" for team, project and workflow; dates are inclusive UTC days."""

    team: str | None = None
    project: str | None = None
    workflow: str | None = None
    start: date | None = None
    end: date | None = None
    min_severity: str = SEVERITIES[0]

    def __post_init__(self) -> None:
        severity_rank(self.min_severity)  # QueryError for an unknown severity

    def describe(self) -> str:
        """One line for chart subtitles: ``team payments · 2026-11-10 to 2026-11-20``."""
        parts = [f"{k} {v}" for k, v in self.scope().items()]
        if self.start or self.end:
            parts.append(f"{self.start or '…'} to {self.end or '…'}")
        if self.min_severity != SEVERITIES[0]:
            parts.append(f"severity ≥ {self.min_severity}")
        return " · ".join(parts) or "all teams, all dates"

    def scope(self) -> dict[str, str]:
        chosen = {"team": self.team, "project": self.project, "workflow": self.workflow}
        return {k: v for k, v in chosen.items() if v}

    def keep(self, frame: pl.DataFrame, *, day: str | None = "day") -> pl.DataFrame:
        """Rows of ``frame`` in scope: team/project/workflow columns it has, and its ``day``.

        ``day`` names a ``pl.Date`` column (None: no date filter). A row whose value is null
        in a filtered column is dropped (its team, say, is unknown).
        """
        out = frame
        for column, value in self.scope().items():
            if column in out.columns:
                out = out.filter(pl.col(column) == value)
        if day and day in out.columns:
            if self.start:
                out = out.filter(pl.col(day) >= self.start)
            if self.end:
                out = out.filter(pl.col(day) <= self.end)
        return out

    def severe_enough(self, severity: str) -> bool:
        return severity_rank(severity) >= severity_rank(self.min_severity)


@dataclass(frozen=True)
class FilterOptions:
    """What the filter controls offer: the lake's teams, projects, workflows and days."""

    teams: tuple[str, ...]
    projects: tuple[str, ...]
    workflows: tuple[str, ...]
    first_day: date | None
    last_day: date | None

    @classmethod
    def of(cls, runs: pl.DataFrame) -> FilterOptions:
        def values(column: str) -> tuple[str, ...]:
            return tuple(sorted(str(v) for v in runs[column].unique().to_list() if v))

        days = runs["day"].drop_nulls()
        return cls(
            teams=values("team"),
            projects=values("project"),
            workflows=values("workflow"),
            first_day=days.min() if len(days) else None,  # type: ignore[arg-type]
            last_day=days.max() if len(days) else None,  # type: ignore[arg-type]
        )
