"""Parameter injection and the static copy used for HTML export (no kernel needed)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from attestlake.errors import InputError
from attestlake.notebook.execute import (
    INJECTED_TAG,
    WIDGET_STATE,
    WIDGET_VIEW,
    export_html,
    inject_parameters,
    static_copy,
)

PNG_B64 = "iVBORw0KGgo="


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("LAKE = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("panel"),
    ]
    return nb


def test_parameters_go_in_a_cell_after_the_parameters_cell(tmp_path: Path) -> None:
    nb = inject_parameters(_notebook(), {"LAKE": tmp_path, "DIGEST": "sha256:x", "N": None})
    cell = nb.cells[2]
    assert cell.metadata["tags"] == [INJECTED_TAG]
    assert cell.source == f"LAKE = {str(tmp_path)!r}\nDIGEST = 'sha256:x'\nN = None"
    with pytest.raises(InputError):
        inject_parameters(_notebook(), {"not a name": 1})
    with pytest.raises(InputError):
        inject_parameters(_notebook(), {"X": object()})


def _view(model_id: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output(
        "display_data", data={WIDGET_VIEW: {"model_id": model_id}, "text/plain": "VBox()"}
    )


def test_the_static_copy_shows_what_the_widgets_showed(tmp_path: Path) -> None:
    nb = _notebook()
    nb.cells[2].outputs = [_view("box"), _view("out")]
    nb.metadata["widgets"] = {
        WIDGET_STATE: {
            "state": {
                "box": {
                    "model_name": "VBoxModel",
                    "state": {"children": ["IPY_MODEL_team", "IPY_MODEL_day", "IPY_MODEL_html"]},
                },
                "team": {
                    "model_name": "DropdownModel",
                    "state": {
                        "description": "Team",
                        "_options_labels": ["All", "<b>red</b>"],
                        "index": 1,
                    },
                },
                "day": {
                    "model_name": "DatePickerModel",
                    "state": {
                        "description": "From",
                        "value": {"year": 2026, "month": 10, "date": 9},
                    },
                },
                "html": {"model_name": "HTMLModel", "state": {"value": "<b>Filters</b>"}},
                "out": {
                    "model_name": "OutputModel",
                    "state": {
                        "outputs": [
                            {
                                "output_type": "display_data",
                                "data": {"image/png": PNG_B64, "text/plain": "chart"},
                                "metadata": {},
                            }
                        ]
                    },
                },
            }
        }
    }
    flat = static_copy(nb)
    outputs = flat.cells[2].outputs
    assert [list(o.data) for o in outputs] == [
        ["text/html", "text/plain"],
        ["image/png", "text/plain"],
    ]
    assert outputs[0].data["text/plain"] == "Team: <b>red</b> · From: 2026-11-09"
    assert "&lt;b&gt;red&lt;/b&gt;" in outputs[0].data["text/html"]
    assert "widgets" not in flat.metadata and "widgets" in nb.metadata  # a copy
    page = export_html(nb, tmp_path / "out" / "page.html").read_text()
    assert f"data:image/png;base64,{PNG_B64}" in page and WIDGET_VIEW not in page
