"""The filter controls: options from the lake, a Selection from their values, re-rendering."""

from __future__ import annotations

from typing import Any

import pytest

from attestlake.demo.demo import DemoResult
from attestlake.errors import QueryError
from attestlake.notebook import widgets
from attestlake.notebook.audit import AuditData
from attestlake.notebook.context import open_context
from attestlake.notebook.selection import ALL, Selection
from attestlake.notebook.widgets import dashboard, filter_panel, selection_of


@pytest.fixture(scope="module")
def audit(demo: DemoResult) -> AuditData:
    return AuditData.load(open_context(demo.lake))


def test_the_controls_offer_the_lake_s_teams_projects_workflows_and_days(audit: AuditData) -> None:
    panel = filter_panel(audit)
    c = panel.controls
    assert list(c["team"].options) == [ALL, "identity", "payments", "platform"]
    assert c["workflow"].options[0] == ALL and len(c["workflow"].options) == 10  # 9 that ran
    # No date window by default: the view shows every finding, as the report counts them.
    assert c["start"].value is None and c["end"].value is None
    assert "runs from 2026-11-10 to 2026-11-20" in panel.box.children[0].value
    assert list(c["severity"].options) == ["info", "low", "medium", "high", "critical"]
    assert panel.selection() == Selection()
    assert c["team"] in panel.box.children[1].children


def test_a_selection_from_control_values() -> None:
    sel = selection_of(
        {"team": "payments", "project": ALL, "workflow": None, "start": None, "severity": "high"}
    )
    assert sel == Selection(team="payments", min_severity="high")
    assert sel.describe() == "team payments · severity ≥ high"
    with pytest.raises(QueryError):
        selection_of({"severity": "urgent"})


def test_outputs_re_render_when_a_control_changes(audit: AuditData, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown: list[Any] = []
    monkeypatch.setattr(widgets, "show", shown.append)
    panel = filter_panel(audit)
    seen: list[Selection] = []

    def view(data: AuditData, sel: Selection) -> str:
        assert data is audit
        seen.append(sel)
        return f"view of {sel.team}"

    output = panel.output(view)
    assert seen == [panel.selection()]  # rendered once straight away
    panel.controls["team"].value = "identity"
    panel.controls["severity"].value = "critical"
    assert [s.team for s in seen] == [None, "identity", "identity"]
    assert seen[-1].min_severity == "critical"
    assert shown[-1] == "view of identity"
    assert output.__class__.__name__ == "Output"


def test_a_dashboard_is_the_box_and_one_output_per_view(audit: AuditData, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(widgets, "show", lambda _result: None)
    board = dashboard(audit, lambda a, s: 1, lambda a, s: 2)
    assert len(board.children) == 3
