"""Reports: HTML (self-contained, escaped), Markdown and JSON, the trend, query selection."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestlake.audit import report_html
from attestlake.audit.formats import render_report
from attestlake.audit.query_files import load_queries
from attestlake.audit.report import Report, render_json, render_markdown, run_report, select_queries
from attestlake.audit.trend import (
    MAX_PREVIOUS_BYTES,
    load_previous,
    load_previous_if_any,
    previous_from_json,
)
from attestlake.errors import FindingsAtSeverity, InputError, QueryError
from attestlake.lake.lake import Lake
from tests.lakefactory import raw_lake

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SCRIPT = '<script>alert("pwned")</script>'
IMG = "<img src=x onerror=alert(1)>"
DIGEST = "sha256:" + "e" * 64


def _run(n: int, workflow: str) -> dict[str, object]:
    return {
        "run_id": f"r{n}",
        "manifest_digest": f"sha256:{n}" + "0" * 63,
        "project": "evil|[x](https://evil.example/)",
        "workflow": workflow,
        "team": "red",
        "started_at": datetime(2024, 5, n, tzinfo=UTC),
        "run_date": f"2024-05-0{n}",
    }


def _image(n: int) -> dict[str, object]:
    return {
        "manifest_digest": f"sha256:{n}" + "0" * 63,
        "run_id": f"r{n}",
        "name": "image",
        "type": "CONTAINER_IMAGE",
        "value": f"ghcr.io/evil/app@{DIGEST}",
        "digest": DIGEST,
        "output": True,
        "run_date": f"2024-05-0{n}",
    }


def _failure(n: int, reason: str) -> dict[str, object]:
    return {
        "manifest_digest": f"sha256:{n}" + "f" * 63,
        "envelope_digest": DIGEST,
        "source": f"oci:evil:run-{n}",
        "status": "not_verified",
        "reason": reason,
        "detail": IMG,
        "workflow": SCRIPT,
        "project": "evil",
        "crawled_at": NOW,
        "crawl_date": "2024-06-01",
    }


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    rows = {
        "runs": [_run(1, SCRIPT), _run(2, "build")],
        "materials": [_image(1), _image(2)],
        "verifications": [_failure(1, "bad_signature"), _failure(2, "untrusted_signer")],
    }
    with Lake.open(raw_lake(tmp_path_factory.mktemp("report") / "lake", rows)) as opened:
        yield opened


@pytest.fixture(scope="module")
def report(lake: Lake) -> Report:
    return run_report(lake, now=NOW)


PREVIOUS = {
    "version": 2,
    "generated_at": "2024-05-25T12:00:00Z",
    "lake": "/lakes/prod",
    "queries": [
        {"name": "verification_failures", "findings": 5, "row_count": 5},
        {"name": "missing_sbom_digests", "findings": 0, "row_count": 0},
    ],
}


# -- HTML --------------------------------------------------------------------------------
def test_html_escapes_everything_from_the_lake(report: Report) -> None:
    html = render_report(report, "html")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/<wbr>script&gt;" in html
    assert "&lt;img src=<wbr>x onerror=<wbr>alert(1)&gt;" in html
    assert "onerror=alert" not in html.replace("onerror=<wbr>alert", "")


def test_html_is_self_contained(report: Report) -> None:
    html = render_report(report, "html")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "default-src 'none'" in html  # Content-Security-Policy: no script, no fetch
    links = re.findall(r'(?:href|src|action)\s*=\s*"([^"]*)"', html)
    assert links and all(link.startswith("#q-") for link in links)
    assert "url(" not in html and "@import" not in html and "<link" not in html
    assert "<style>" in html


def test_html_summary_and_sections(report: Report) -> None:
    html = render_report(report, "html")
    assert '<div class="n">2</div><div class="label">critical</div>' in html
    # Both runs shipped the same image without an SBOM: one image, one finding, two rows.
    assert '<div class="n">1</div><div class="label">high</div>' in html
    assert 'class="card zero"' in html  # medium, low, info have no findings
    assert html.index('id="q-verification_failures"') < html.index('id="q-missing_sbom_digests"')
    assert '<a href="#q-non_compliant_workflows">Non-compliant workflows</a>' in html
    assert "No findings." in html  # non_compliant_workflows finds nothing here
    assert "2 findings (one per manifest_digest, envelope_digest) in 2 rows" in html
    assert "1 finding (one per image_digest) in 2 rows" in html
    assert "highest severity: " in html
    assert 'title="' + DIGEST + '"' in html and "sha256:eeeeeeee…" in html
    assert "Trend" not in html  # no previous report given


def test_html_caps_rows_per_query(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_html, "MAX_HTML_ROWS", 1)
    html = render_report(report, "html")
    two_rows = [r.query.name for r in report.results if r.count == 2]
    assert {"verification_failures", "missing_sbom_digests"} <= set(two_rows)
    assert html.count("… 1 more row</p>") == len(two_rows)


def test_trend_against_the_previous_report(lake: Lake) -> None:
    previous = previous_from_json(PREVIOUS, "previous.json")
    rep = run_report(lake, now=NOW, previous=previous)
    assert rep.trend is not None
    changes = {c.name: c for c in rep.trend.changes}
    failures = changes["verification_failures"]
    assert (failures.previous, failures.current) == (5, 2)
    assert changes["verification_failures"].direction == "down"
    assert changes["verification_failures"].delta == -3
    assert changes["missing_sbom_digests"].direction == "up"
    assert changes["non_compliant_workflows"].direction == "new"
    assert rep.trend.totals() == (5, 3)

    html = render_report(rep, "html")
    assert "Since the report of 2024-05-25T12:00:00Z: 5 → 3 findings" in html
    assert '5 → 2 <span class="down">↓ (-3)</span>' in html
    assert '0 → 1 <span class="up">↑ (+1)</span>' in html
    assert '<span class="new">new</span>' in html

    md = render_markdown(rep)
    assert (
        "## Trend" in md
        and "| Attestations that failed verification | critical | 5 | 2 | ↓ -3 |" in md
    )
    assert "| Non-compliant workflows | high | – | 0 | new |" in md

    data = json.loads(render_json(rep))
    assert data["trend"]["previous_generated_at"] == "2024-05-25T12:00:00Z"
    assert {"name": "verification_failures", "previous": 5, "current": 2, "change": "down"} in (
        data["trend"]["queries"]
    )


# -- JSON, the next run's previous report --------------------------------------------------
def test_json_report_feeds_the_next_trend(report: Report, tmp_path: Path) -> None:
    data = json.loads(render_report(report, "json"))
    assert data["version"] == 2 and data["trend"] is None
    assert data["generated_at"] == "2024-06-01T12:00:00Z"
    path = tmp_path / "previous.json"
    path.write_text(render_json(report))
    previous = load_previous(path)
    assert previous.generated_at == "2024-06-01T12:00:00Z"
    assert previous.counts == {r.query.name: r.findings for r in report.results}
    assert {k: previous.counts[k] for k in ("verification_failures", "missing_sbom_digests")} == {
        "verification_failures": 2,
        "missing_sbom_digests": 1,
    }
    assert previous.counts["non_compliant_workflows"] == 0
    entries = {q["name"]: q for q in data["queries"]}
    sbom = entries["missing_sbom_digests"]
    assert (sbom["finding"], sbom["findings"], sbom["row_count"]) == (["image_digest"], 1, 2)
    assert len(sbom["rows"]) == 2 and sbom["missing_inputs"] == []
    assert data["summary"] == {"info": 2, "low": 2, "medium": 0, "high": 1, "critical": 2}
    rows = {q["name"]: q["rows"] for q in data["queries"]}
    assert rows["verification_failures"][0]["workflow"] == SCRIPT  # JSON keeps values as they are
    assert rows["missing_sbom_digests"][0]["workflow"] == SCRIPT


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "expected an object"),
        ("{}", "no 'queries' list"),
        ('{"queries": [{"count": 1}]}', r"queries\[0\]: expected an object with a 'name'"),
        ('{"queries": [{"name": "a", "count": -1}]}', r"queries\[0\].count"),
        ('{"queries": [{"name": "a", "count": true}]}', r"queries\[0\].count"),
        ('{"queries": [{"name": "a", "count": "3"}]}', r"queries\[0\].count"),
        ('{"queries": [], "generated_at": 3}', "must be strings"),
        ('{"version": 2, "queries": [{"name": "a", "count": 1}]}', r"queries\[0\].findings"),
        ('{"version": 2, "queries": [{"name": "a", "findings": -2}]}', r"queries\[0\].findings"),
    ],
)
def test_previous_report_is_parsed_strictly(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "previous.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        load_previous(path)
    assert str(path) in str(exc.value)


def test_a_report_that_counted_rows_gives_no_trend(lake: Lake) -> None:
    """A version 1 report counted rows: comparing them with findings would invent a change."""
    old = {**PREVIOUS, "version": 1, "queries": [{"name": "verification_failures", "count": 9}]}
    rep = run_report(lake, now=NOW, previous=previous_from_json(old, "old.json"))
    assert rep.trend is not None and rep.trend.previous.counted_rows
    assert {c.direction for c in rep.trend.changes} == {"new"}
    note = "The previous report counted rows, not findings, so nothing compares"
    assert note in render_markdown(rep) and note in render_report(rep, "html")
    assert "9 →" not in render_report(rep, "html")


def test_previous_report_missing_or_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_previous(tmp_path / "missing.json")
    big = tmp_path / "big.json"
    big.write_text(json.dumps(PREVIOUS))
    monkeypatch.setattr("attestlake.audit.trend.MAX_PREVIOUS_BYTES", 10)
    with pytest.raises(InputError, match="larger than 10 bytes"):
        load_previous(big)
    assert MAX_PREVIOUS_BYTES > 10


def test_no_previous_report_yet_is_a_first_run_anything_else_an_error(tmp_path: Path) -> None:
    assert load_previous_if_any(tmp_path / "last.json") is None
    assert load_previous_if_any(tmp_path / "no-such-dir" / "last.json") is None
    (tmp_path / "dangling.json").symlink_to(tmp_path / "gone.json")
    with pytest.raises(InputError, match="cannot read"):
        load_previous_if_any(tmp_path / "dangling.json")  # a name that is there, but broken
    with pytest.raises(InputError, match="not a regular file"):
        load_previous_if_any(tmp_path)
    (tmp_path / "last.json").write_text(json.dumps(PREVIOUS))
    found = load_previous_if_any(tmp_path / "last.json")
    assert found is not None and found == load_previous(tmp_path / "last.json")


# -- selection, formats, severity gate -----------------------------------------------------
def test_select_queries() -> None:
    # By default every query that runs on its defaults: a search with a required parameter
    # (component_search) is run by hand.
    runnable = [q.name for q in load_queries() if not any(p.required for p in q.params)]
    assert [q.name for q in select_queries()] == runnable
    assert "component_search" not in runnable and "verification_failures" in runnable
    chosen = select_queries(
        ["verification_failures", "missing_sbom_digests", "verification_failures"]
    )
    assert [q.name for q in chosen] == ["verification_failures", "missing_sbom_digests"]
    with pytest.raises(QueryError, match="no saved query 'nope'"):
        select_queries(["nope"])


def test_report_of_chosen_queries(lake: Lake) -> None:
    rep = run_report(lake, select_queries(["missing_sbom_digests"]), now=NOW)
    assert [r.query.name for r in rep.results] == ["missing_sbom_digests"]
    assert rep.max_severity() == "high"
    rep.fail_on("critical")  # nothing critical was run
    with pytest.raises(FindingsAtSeverity, match=r"^1 finding"):
        rep.fail_on("medium")


def test_unknown_report_format(report: Report) -> None:
    with pytest.raises(InputError, match="md, html, json"):
        render_report(report, "pdf")


# -- the scheduled workflow in docs/ ---------------------------------------------------------
def test_the_scheduled_workflow_crawls_reports_and_keeps_the_previous_report() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    workflow = yaml.safe_load((root / "docs" / "scheduled-report.yml").read_text())
    assert "schedule" in workflow[True]  # YAML 1.1 reads the key "on" as True
    steps = workflow["jobs"]["report"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    uses = [s.get("uses", "") for s in steps]
    assert "pip install" in runs and "attestlake crawl --from" in runs and "--trust" in runs
    crawl = next(s["run"] for s in steps if "attestlake crawl" in s.get("run", ""))
    assert crawl.count("--from") == 2 and "SECOPS_STORE" in crawl  # runs and declared state
    assert "--format html" in runs and "--fail-on high" in runs and "--previous" in runs
    assert "--format json" in runs
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/cache/save@") for u in uses)
    gate = next(i for i, s in enumerate(steps) if "--fail-on" in s.get("run", ""))
    assert all("always()" in s.get("if", "") for s in steps[gate + 1 :])
    assert (root / "docs" / "reports.md").is_file()
