"""Run a notebook headless with given parameters, and export it as static HTML.

Parameters are injected papermill-style: a cell tagged ``injected-parameters`` is added after
the cell tagged ``parameters``, assigning each value. :func:`static_copy` replaces widget views
(which need JavaScript and the live kernel) with what they showed when the notebook ran: the
filter values as text and the outputs' charts and tables, so the exported HTML reads the same
offline.
"""

from __future__ import annotations

import copy
import html
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from attestlake.errors import InputError
from attestlake.notebook.kernel import PolledKernelClient

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# nbformat's and nbconvert's constructors have no annotations: bind them to typed names once.
_new_code_cell: Callable[..., NotebookNode] = nbformat.v4.new_code_cell
_new_output: Callable[..., NotebookNode] = nbformat.v4.new_output
_from_dict: Callable[[Any], NotebookNode] = nbformat.from_dict
_read: Callable[..., NotebookNode] = nbformat.read
_html_exporter: Callable[..., HTMLExporter] = HTMLExporter
_CONTROLS = {"DropdownModel", "DatePickerModel", "SelectModel", "TextModel", "CheckboxModel"}


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, Any]) -> NotebookNode:
    """``nb`` with a cell assigning ``parameters`` after its ``parameters`` cell."""
    lines = []
    for name, value in parameters.items():
        if not name.isidentifier():
            raise InputError(f"notebook parameter {name!r} is not a Python name")
        if not isinstance(value, (str, int, float, bool, type(None), Path)):
            raise InputError(f"notebook parameter {name}: {type(value).__name__} is not a literal")
        lines.append(
            f"{name} = {str(value)!r}" if isinstance(value, Path) else f"{name} = {value!r}"
        )
    cell = _new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    at = next(
        (
            i + 1
            for i, c in enumerate(nb.cells)
            if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])
        ),
        0,
    )
    nb.cells.insert(at, cell)
    return nb


def execute_notebook(
    path: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    timeout: int = 120,
    kernel_name: str = "python3",
) -> NotebookNode:
    """Run the notebook at ``path`` (in its directory) and return it with its outputs.

    The kernel talks over Unix sockets in a private directory, not TCP ports on 127.0.0.1:
    nothing else on the machine can take or connect to them; its client waits in short polls
    (:mod:`attestlake.notebook.kernel`)."""
    nb = _read(path, as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    with tempfile.TemporaryDirectory(prefix="attestlake-kernel-") as sockets:
        kernel = AsyncKernelManager(
            kernel_name=kernel_name,
            transport="ipc",
            ip=str(Path(sockets) / "kernel"),
            client_factory=PolledKernelClient,
        )
        client = NotebookClient(
            nb,
            km=kernel,
            timeout=timeout,
            kernel_name=kernel_name,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
    return nb


def widget_state(nb: NotebookNode) -> dict[str, Any]:
    """Model id → model (``model_name``, ``state``) as saved by the run."""
    state: dict[str, Any] = (
        nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    )
    return state


def _value(model: Mapping[str, Any]) -> str:
    state = model.get("state", {})
    if model.get("model_name") == "DropdownModel":
        labels, index = state.get("_options_labels") or [], state.get("index")
        return str(labels[index]) if isinstance(index, int) and index < len(labels) else "—"
    value = state.get("value")
    if model.get("model_name") == "DatePickerModel" and isinstance(value, dict):
        # Serialised as JavaScript does: the month counts from 0.
        return f"{value['year']:04d}-{value['month'] + 1:02d}-{value['date']:02d}"
    return "—" if value is None else str(value)


def _flatten(model_id: str, state: Mapping[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """(control descriptions, outputs) shown by the widget ``model_id`` and its children."""
    model = state.get(model_id)
    if model is None:
        return [], []
    name = model.get("model_name")
    if name == "OutputModel":
        return [], list(model.get("state", {}).get("outputs", []))
    if name in _CONTROLS:
        label = model.get("state", {}).get("description") or name
        return [f"{label}: {_value(model)}"], []
    controls: list[str] = []
    outputs: list[dict[str, Any]] = []
    for child in model.get("state", {}).get("children", []):
        c, o = _flatten(str(child).removeprefix("IPY_MODEL_"), state)
        controls += c
        outputs += o
    return controls, outputs


def _only_text_boxes(model_id: str, state: Mapping[str, Any]) -> bool:
    """True if the controls under ``model_id`` are all text boxes (inputs, not filters)."""
    children = state.get(model_id, {}).get("state", {}).get("children", [])
    names = [state.get(str(c).removeprefix("IPY_MODEL_"), {}).get("model_name") for c in children]
    return "TextModel" in names and not (_CONTROLS - {"TextModel"}) & set(names)


def static_copy(nb: NotebookNode) -> NotebookNode:
    """A copy of an executed notebook whose widget views are replaced by what they showed."""
    out = copy.deepcopy(nb)
    state = widget_state(out)
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        flat: list[Any] = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if not view:
                flat.append(output)
                continue
            controls, shown = _flatten(str(view.get("model_id")), state)
            if controls:
                text = " · ".join(controls)
                kind = "Inputs" if _only_text_boxes(str(view.get("model_id")), state) else "Filters"
                flat.append(
                    _new_output(
                        "display_data",
                        data={
                            "text/html": f"<p><b>{kind} when this notebook ran:</b> "
                            f"{html.escape(text)}</p>",
                            "text/plain": text,
                        },
                    )
                )
            flat += [_from_dict(o) for o in shown]
        cell.outputs = flat
    out.metadata.pop("widgets", None)
    return out


def export_html(nb: NotebookNode, destination: Path) -> Path:
    """Write a static HTML page of the executed notebook ``nb`` (see :func:`static_copy`)."""
    body, _ = _html_exporter(template_name="lab").from_notebook_node(static_copy(nb))
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(body, encoding="utf-8")
    return destination
