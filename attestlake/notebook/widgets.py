"""The overview's filter controls (ipywidgets) and the outputs they re-render.

:func:`filter_panel` builds the controls, team / project / workflow dropdowns with "All", a
date range and a minimum severity, in one box. :meth:`FilterPanel.output` gives an
``interactive_output`` that calls a view function ``view(audit, selection)`` again whenever a
control changes and displays what it returns (a chart, a table, or a tuple of them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]
from IPython.display import display as _untyped_display

from attestlake.audit.query_files import SEVERITIES
from attestlake.notebook.audit import AuditData
from attestlake.notebook.selection import ALL, Selection

View = Callable[[AuditData, Selection], Any]
#: IPython's display() has no annotations; bind it to a typed name once.
display: Callable[..., None] = _untyped_display
_LAYOUT = {"width": "300px"}
_STYLE = {"description_width": "80px"}


def _dropdown(label: str, values: tuple[str, ...]) -> Any:
    return widgets.Dropdown(
        description=label, options=[ALL, *values], value=ALL, layout=_LAYOUT, style=_STYLE
    )


def selection_of(values: Mapping[str, Any]) -> Selection:
    """A Selection from the controls' values (as ``interactive_output`` passes them)."""

    def chosen(name: str) -> str | None:
        value = values.get(name)
        return None if value in (None, ALL) else str(value)

    start, end = values.get("start"), values.get("end")
    return Selection(
        team=chosen("team"),
        project=chosen("project"),
        workflow=chosen("workflow"),
        start=start if isinstance(start, date) else None,
        end=end if isinstance(end, date) else None,
        min_severity=str(values.get("severity") or SEVERITIES[0]),
    )


def show(result: Any) -> None:
    """Display a view's result: each item of a tuple or list, or the object itself."""
    for item in result if isinstance(result, (tuple, list)) else (result,):
        display(item)


class FilterPanel:
    """The filter controls over one :class:`AuditData`, and outputs bound to them."""

    def __init__(self, audit: AuditData) -> None:
        options = audit.options()
        self.audit = audit
        self.controls: dict[str, Any] = {
            "team": _dropdown("Team", options.teams),
            "project": _dropdown("Project", options.projects),
            "workflow": _dropdown("Workflow", options.workflows),
            # No window by default: every finding, dated or not, as the report counts them.
            "start": widgets.DatePicker(
                description="From", value=None, layout=_LAYOUT, style=_STYLE
            ),
            "end": widgets.DatePicker(description="To", value=None, layout=_LAYOUT, style=_STYLE),
            "severity": widgets.Dropdown(
                description="Severity ≥",
                options=list(SEVERITIES),
                value=SEVERITIES[0],
                layout=_LAYOUT,
                style=_STYLE,
            ),
        }
        c = self.controls
        self.box = widgets.VBox(
            [
                widgets.HTML(
                    "<b>Filters</b> (every chart and table below follows them). From/To "
                    f"(runs from {options.first_day or '—'} to {options.last_day or '—'}): "
                    "empty means every date, undated findings included"
                ),
                widgets.HBox([c["team"], c["project"], c["workflow"]]),
                widgets.HBox([c["start"], c["end"], c["severity"]]),
            ]
        )

    def selection(self) -> Selection:
        """What the controls select now."""
        return selection_of({name: control.value for name, control in self.controls.items()})

    def output(self, view: View) -> Any:
        """An output that shows ``view(audit, selection)`` and re-renders on every change."""

        def render(**values: Any) -> None:
            show(view(self.audit, selection_of(values)))

        return widgets.interactive_output(render, self.controls)

    def _ipython_display_(self) -> None:
        display(self.box)


def filter_panel(audit: AuditData) -> FilterPanel:
    """Build the filter box for ``audit`` (display the panel to show it)."""
    return FilterPanel(audit)


def dashboard(audit: AuditData, *views: View) -> Any:
    """The filter box and one re-rendering output per view, in one widget."""
    panel = filter_panel(audit)
    return widgets.VBox([panel.box, *(panel.output(v) for v in views)])
