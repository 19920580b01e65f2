"""The notebooks run headless with a real kernel (nbclient) on the demo lake.

The kernel is the one of this interpreter: Jupyter's and IPython's directories point at temp
dirs, so no user-level kernelspec or config is found, and the ``python3`` kernelspec in
``sys.prefix`` starts ``sys.executable``. ``PYTHONPATH`` makes the kernel import this checkout.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

import attestlake
from attestlake.demo.demo import DemoResult
from attestlake.notebook.execute import (
    WIDGET_VIEW,
    execute_notebook,
    export_html,
    static_copy,
    widget_state,
)
from tests.demo_lake import LOG4J, sbom_component_rows
from tests.integration.cli_helpers import run_cli

pytestmark = pytest.mark.notebooks

ROOT = Path(attestlake.__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
COMMITTED = sorted(NOTEBOOKS.glob("*.ipynb"))
OWNERS = {
    "payments": "sarah.connor@cyberdyne.example",
    "identity": "miles.dyson@cyberdyne.example",
    "platform": "kyle.reese@cyberdyne.example",
}


def test_both_notebooks_are_there() -> None:
    assert {p.name for p in COMMITTED} >= {"audit_overview.ipynb", "investigate.ipynb"}


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_notebooks_have_no_outputs_and_a_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "LAKE = None" in tagged[0].source
    assert "widgets" not in nb.metadata


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("jupyter")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            mp.setenv(name, str(home / name.lower()))
        mp.setenv("MPLCONFIGDIR", str(home / "matplotlib"))
        mp.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        for name in ("ATTESTLAKE_LAKE", "ATTESTLAKE_ORGANISATION"):
            mp.delenv(name, raising=False)
        yield


def test_the_kernel_is_this_interpreter(jupyter_env: None) -> None:
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] in ("python", "python3", sys.executable)
    assert Path(spec.resource_dir).resolve().is_relative_to(Path(sys.prefix).resolve())


def _outputs(nb: Any) -> list[Any]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _no_errors(nb: Any) -> None:
    errors = [o for o in _outputs(nb) if o.output_type == "error"]
    assert not errors, errors[0].get("evalue")
    streams = "".join(o.get("text", "") for o in _outputs(nb) if o.output_type == "stream")
    assert "Traceback" not in streams


def _html(outputs: list[Any]) -> str:
    return "\n".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)


@pytest.fixture(scope="module")
def overview(jupyter_env: None, demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return execute_notebook(NOTEBOOKS / "audit_overview.ipynb", {"LAKE": str(demo.lake)})


def test_the_overview_shows_filters_and_charts(
    overview: Any, demo: DemoResult, tmp_path: Path
) -> None:
    _no_errors(overview)
    views = [o for o in _outputs(overview) if WIDGET_VIEW in o.get("data", {})]
    assert len(views) >= 7  # the filter box and one output per chart or table
    state = widget_state(overview)
    names = [m["model_name"] for m in state.values()]
    assert names.count("DropdownModel") == 4 and names.count("DatePickerModel") == 2
    shown = [
        o for m in state.values() if m["model_name"] == "OutputModel" for o in m["state"]["outputs"]
    ]
    charts = [o for o in shown if "image/png" in o.get("data", {})]
    assert len(charts) == 5
    tables = _html(shown)
    assert "How the risk scores add up" in tables
    assert "https://github.com/cyberdyne/login-ui/actions/runs/" in tables
    # The policy violation sso-build's latest run recorded at push is among the findings.
    assert "Policy violations recorded at push" in tables
    assert "without a purl, e.g. saml-bridge" in tables
    summary = _html(_outputs(overview))
    assert "inventory" in summary  # owners from the inventory
    # The default view counts exactly what the report counts, severity by severity: no date
    # window drops the undated or crawl-dated findings. The notebook judges the lake as of
    # now, and so does this report.
    report = run_cli(tmp_path, "report", "--lake", str(demo.lake), "--format", "json")
    assert report.code == 0, report.err
    counts = report.json()["summary"]
    line = " · ".join(f"{s} {counts[s]}" for s in ("critical", "high", "medium", "low", "info"))
    heading = re.search(r"Findings: ([^(]*) \((\d+) rows\)", tables)
    assert heading is not None and heading[1] == line, tables[:2000]
    rows = sum(q["row_count"] for q in report.json()["queries"])
    assert int(heading[2]) == rows
    assert counts["critical"] == 3 and "hides" not in tables
    assert f"critical {counts['critical']}, high {counts['high']}" in summary


def test_the_overview_exports_to_static_html(overview: Any, tmp_path: Path) -> None:
    flat = static_copy(overview)
    outputs = _outputs(flat)
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 5
    page = export_html(overview, tmp_path / "overview.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 5
    assert "Filters when this notebook ran:</b> Team: All" in page


@pytest.fixture(scope="module")
def planted(demo: DemoResult) -> dict[str, str]:
    """The last run of login-ui-build, the one that dropped its SBOM: its image and run."""
    from attestlake.lake.lake import Lake

    with Lake.open(demo.lake) as lake:
        return lake.sql(
            "SELECT r.run_id, r.commit, s.digest, m.value AS image FROM runs r "
            "JOIN subjects s USING (manifest_digest) JOIN materials m USING (manifest_digest) "
            "WHERE r.workflow = 'login-ui-build' AND m.type = 'CONTAINER_IMAGE' "
            "ORDER BY r.started_at DESC LIMIT 1"
        ).to_pylist()[0]


def test_the_investigation_finds_the_planted_run_and_the_vulnerable_component_s_users(
    jupyter_env: None, demo: DemoResult, planted: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTESTLAKE_LAKE", str(demo.lake))  # the lake from the environment
    nb = execute_notebook(
        NOTEBOOKS / "investigate.ipynb",
        {
            "DIGEST": planted["digest"],
            "IMAGE": planted["image"].split("@", 1)[0],
            "PACKAGE": LOG4J,
            "VERSION_RANGE": "<2.17.2",
        },
    )
    _no_errors(nb)
    boxes = [m for m in widget_state(nb).values() if m["model_name"] == "TextModel"]
    assert {b["state"]["description"]: b["state"]["value"] for b in boxes} == {
        "Artifact digest": planted["digest"],
        "Image": planted["image"].split("@", 1)[0],
        "Package": LOG4J,
        "Version range": "<2.17.2",
    }
    # What each box's answer showed when the notebook ran (widgets flattened, as exported).
    cells = [c for c in static_copy(nb).cells if c.cell_type == "code"]
    digest_html, image_html, component_html = (_html(c.outputs) for c in cells[-3:])

    assert f"Run {planted['run_id']}" in digest_html
    # The image is a subject of the run statement and of its SLSA provenance: listed once.
    assert digest_html.count("artifact (subject)") == 1
    for text in (planted["commit"], "login-ui-build", "keys/ci.pub", "verified", "revision 1"):
        assert text in digest_html
    assert planted["digest"] in image_html and "14 digest(s)" in image_html

    manifests = {
        r["manifest_digest"] for r in sbom_component_rows(demo) if r["name"] == "log4j-core"
    }
    from attestlake.lake.lake import Lake

    with Lake.open(demo.lake) as lake:
        runs = lake.sql("SELECT manifest_digest, workflow, team FROM runs").to_pylist()
    users = {(r["workflow"], r["team"]) for r in runs if r["manifest_digest"] in manifests}
    assert users
    assert f"{len({w for w, _ in users})} workflow(s) shipped {LOG4J} &lt;2.17.2" in component_html
    for workflow, team in users:
        assert f">{workflow}<" in component_html and OWNERS[team] in component_html
    assert "no SBOM component table" not in component_html


def test_investigation_defaults_show_an_example(jupyter_env: None, demo: DemoResult) -> None:
    nb = execute_notebook(NOTEBOOKS / "investigate.ipynb", {"LAKE": str(demo.lake)})
    _no_errors(nb)
    shown = _html(_outputs(static_copy(nb)))
    assert "Who ships" in shown and "workflow(s) shipped" in shown
    assert "appears in 1 verified run(s)" in shown and "digest(s), most recent run first" in shown
    assert "Inputs when this notebook ran:</b> Artifact digest: sha256:" in shown


def test_from_a_clean_checkout_the_sample_lake_is_built_and_shown(
    jupyter_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    nb = execute_notebook(NOTEBOOKS / "investigate.ipynb")  # no parameters, no environment
    _no_errors(nb)
    sample = tmp_path / "cache" / "attestlake" / "sample" / "lake"
    assert (sample / "runs").is_dir()
    assert str(sample) in _html(_outputs(nb))
    assert "appears in 1 verified run(s)" in _html(_outputs(static_copy(nb)))
