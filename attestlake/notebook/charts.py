"""The overview's charts: each function returns a :class:`Chart`, its data and its figure.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state), shown as PNG by
Jupyter and in exported HTML. Every chart has a title, a subtitle saying what is selected, and
axis labels with units. The numbers are defined in :mod:`attestlake.notebook.audit`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from attestlake.notebook.audit import AuditData
from attestlake.notebook.selection import Selection

SEVERITY_COLOURS = {
    "critical": "#8b0000",
    "high": "#d9481c",
    "medium": "#f08c00",
    "low": "#e6c229",
    "info": "#8c8c8c",
}
VERIFIED, FAILED, NEUTRAL = "#2b8a3e", "#c92a2a", "#adb5bd"
MEETING, NOT_MEETING = "#1971c2", "#ff8787"
TEAM_PALETTE = ("#1971c2", "#e8590c", "#2f9e44", "#9c36b5", "#c2255c", "#0c8599", "#5c940d")
WIDTH = 10.0
MAX_BARS = 15


@dataclass(frozen=True)
class Chart:
    """A titled figure and the data it draws."""

    title: str
    data: pl.DataFrame
    figure: Figure

    def png(self, dpi: int = 100) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        return buffer.getvalue()

    def _repr_mimebundle_(self, **_: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """PNG for Jupyter and exported HTML, with the title as the image's alt text."""
        data = {"image/png": self.png(), "text/plain": f"<Chart: {self.title}>"}
        return data, {"image/png": {"alt": self.title}}


def _figure(title: str, sel: Selection, rows: int = 1) -> tuple[Figure, Any]:
    fig = Figure(figsize=(WIDTH, max(3.2, 1.6 + 0.42 * rows)), layout="constrained")
    ax = fig.add_subplot()
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    ax.set_title(sel.describe(), fontsize=9, color="#555555", loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _nothing(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def _duration(days: float) -> str:
    if days == 0:
        return "0 d (it ran first)"
    return f"{days * 24:.1f} h" if days < 1 else f"{days:.1f} d"


def _bars(
    ax: Any,
    labels: Sequence[str],
    values: Sequence[float],
    colours: Sequence[str],
    unit: str,
    notes: Sequence[str] | None = None,
) -> None:
    """Horizontal bars, first label on top, each annotated with its value (or its note)."""
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=colours, height=0.6)
    ax.set_yticks(positions, labels)
    top = max([*values, 1.0])
    texts = notes or [_number(v) for v in values]
    for y, v, text in zip(positions, values, texts, strict=True):
        ax.text(v + top * 0.01, y, text, va="center", fontsize=9)
    ax.set_xlim(0, top * 1.12)
    ax.set_xlabel(unit)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)


def team_colours(teams: Sequence[str]) -> dict[str, str]:
    return {t: TEAM_PALETTE[i % len(TEAM_PALETTE)] for i, t in enumerate(sorted(teams))}


def compliance_over_time(audit: AuditData, sel: Selection) -> Chart:
    """Share of runs meeting their contract per day: one panel per team, k/n above each bar."""
    title = "Runs meeting their contract, per team and day"
    data = audit.compliance_by_day(sel)
    teams = [str(t) for t in data["team"].unique(maintain_order=True).to_list()]
    if data.is_empty():
        fig, ax = _figure(title, sel)
        _nothing(ax, "No runs match the filters")
        return Chart(title, data, fig)
    fig = Figure(figsize=(WIDTH, max(3.4, 1.2 + 1.45 * len(teams))), layout="constrained")
    axes = fig.subplots(len(teams), 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    axes[0].set_title(sel.describe(), fontsize=9, color="#555555", loc="left")
    for ax, team in zip(axes, teams, strict=True):
        rows = data.filter(pl.col("team") == team)
        days, percent = rows["day"].to_list(), rows["percent"].to_list()
        ax.bar(days, percent, width=0.7, color=MEETING)
        ax.bar(days, [100 - p for p in percent], bottom=percent, width=0.7, color=NOT_MEETING)
        for day, met, runs in zip(days, rows["compliant"], rows["runs"], strict=True):
            ax.text(day, 103, f"{met}/{runs}", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, 125)
        ax.set_yticks([0, 50, 100])
        ax.set_ylabel(f"{team}\n(%)", rotation=0, ha="right", va="center")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    every_day = sorted(set(data["day"].to_list()))
    ticks = every_day[:: max(1, len(every_day) // 12)]
    axes[-1].set_xticks(ticks, [f"{d:%d %b}" for d in ticks])
    axes[-1].set_xlabel("Day of the run (UTC); above each bar: runs meeting their contract / runs")
    fig.supylabel("Share of the team's runs that day (%)", fontsize=10)
    fig.legend(
        handles=[
            Patch(color=MEETING, label="meeting their contract"),
            Patch(color=NOT_MEETING, label="not meeting it"),
        ],
        loc="outside upper right",
        ncols=2,
        frameon=False,
    )
    return Chart(title, data, fig)


def verification_outcomes(audit: AuditData, sel: Selection) -> Chart:
    """Envelopes the crawler inspected, by outcome: verified or why not."""
    title = "Verification outcomes of the attestations crawled"
    data = audit.verification_outcomes(sel)
    fig, ax = _figure(title, sel, rows=data.height)
    if data.is_empty():
        _nothing(ax, "No attestations match the filters")
        return Chart(title, data, fig)
    reasons = [str(r).replace("_", " ") for r in data["reason"].to_list()]
    colours = [VERIFIED if s == "verified" else FAILED for s in data["status"].to_list()]
    _bars(ax, reasons, data["attestations"].to_list(), colours, "Attestations (count)")
    return Chart(title, data, fig)


def findings_by_query(audit: AuditData, sel: Selection) -> Chart:
    """Findings per saved query, coloured by the query's severity."""
    title = "Findings of the saved queries, by severity"
    data = audit.findings_by_query(sel)
    fig, ax = _figure(title, sel, rows=data.height)
    if data.is_empty():
        _nothing(ax, f"No saved query at severity {sel.min_severity} or above")
        return Chart(title, data, fig)
    labels = [f"{t}  [{s}]" for t, s in zip(data["title"], data["severity"], strict=True)]
    colours = [SEVERITY_COLOURS.get(s, NEUTRAL) for s in data["severity"].to_list()]
    _bars(
        ax, labels, data["findings"].to_list(), colours, "Findings (one per entity a query reports)"
    )
    present = list(dict.fromkeys(data["severity"].to_list()))
    ax.legend(
        handles=[Patch(color=SEVERITY_COLOURS.get(s, NEUTRAL), label=s) for s in present],
        title="Severity",
        loc="lower right",
        frameon=False,
    )
    return Chart(title, data, fig)


def risk_ranking(audit: AuditData, sel: Selection) -> Chart:
    """Workflows ranked by risk score: finding points plus non-compliance points (stacked)."""
    title = "Workflows ranked by risk"
    data = audit.risk_ranking(sel)
    shown = data.head(MAX_BARS)
    fig, ax = _figure(title, sel, rows=shown.height)
    if shown.is_empty():
        _nothing(ax, "No workflows match the filters")
        return Chart(title, data, fig)
    labels = [
        f"{p} / {w}  ({t or 'no team'})"
        for p, w, t in zip(shown["project"], shown["workflow"], shown["team"], strict=True)
    ]
    positions = list(range(shown.height))[::-1]
    findings = shown["finding_points"].cast(pl.Float64).to_list()
    contract = (shown["not_meeting_share"] * 10).to_list()
    ax.barh(positions, findings, height=0.6, color=SEVERITY_COLOURS["high"], label="findings")
    ax.barh(
        positions,
        contract,
        left=findings,
        height=0.6,
        color="#4dabf7",
        label="runs not meeting their contract",
    )
    ax.set_yticks(positions, labels)
    top = max([*shown["risk_score"].to_list(), 1.0])
    for y, score in zip(positions, shown["risk_score"].to_list(), strict=True):
        ax.text(score + top * 0.01, y, f"{score:.1f}", va="center", fontsize=9)
    ax.set_xlim(0, top * 1.12)
    ax.set_xlabel(
        "Risk score (points: critical finding 10, high 5, medium 2, low 1; "
        "+10 × share of runs not meeting their contract)"
    )
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", frameon=False)
    return Chart(title, data, fig)


def revision_adoption(audit: AuditData, sel: Selection) -> Chart:
    """Days from each contract revision's rollout to each team's first run on it."""
    title = "Contract revision adoption: days until each team's first run on it"
    data = audit.revision_adoption(sel)
    fig, ax = _figure(title, sel, rows=data.height)
    if data.is_empty():
        _nothing(ax, "No contract revisions match the filters")
        return Chart(title, data, fig)
    colours = team_colours(audit.options().teams)
    labels, values, fills, notes = [], [], [], []
    for row in data.iter_rows(named=True):
        days = float(row["days"])
        labels.append(f"{row['contract_name']} r{row['contract_revision']} · {row['team']}")
        values.append(days)
        fills.append(colours.get(str(row["team"]), NEUTRAL) if row["adopted"] else NEUTRAL)
        notes.append(_duration(days) if row["adopted"] else f"not yet: waiting {_duration(days)}")
    _bars(
        ax,
        labels,
        values,
        fills,
        "Days from the revision's first run (by any team) to the team's first run on it (days)",
        notes,
    )
    return Chart(title, data, fig)


#: The overview's charts, in the order the notebook shows them.
CHARTS = (
    compliance_over_time,
    verification_outcomes,
    findings_by_query,
    risk_ranking,
    revision_adoption,
)
