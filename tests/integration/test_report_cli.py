"""``attestlake report`` and ``attestlake query`` through the real CLI."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.integration.cli_helpers import run_cli
from tests.lakefactory import raw_lake

SCRIPT = "<script>alert(document.cookie)</script>"
DIGEST = "sha256:" + "b" * 64


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with one image shipped without an SBOM (by a hostile workflow name) and one
    envelope that failed verification."""
    tmp = tmp_path_factory.mktemp("reportcli")
    now = datetime.now(UTC).replace(microsecond=0)
    run = {
        "run_id": "r1",
        "manifest_digest": "sha256:" + "1" * 64,
        "project": "payments",
        "workflow": SCRIPT,
        "team": "red",
        "started_at": now,
        "run_date": now.date().isoformat(),
    }
    image = {
        "manifest_digest": run["manifest_digest"],
        "run_id": "r1",
        "name": "image",
        "type": "CONTAINER_IMAGE",
        "value": f"ghcr.io/acme/app@{DIGEST}",
        "digest": DIGEST,
        "output": True,
        "run_date": run["run_date"],
    }
    failure = {
        "manifest_digest": "sha256:" + "2" * 64,
        "source": "oci:store:run-2",
        "status": "not_verified",
        "reason": "bad_signature",
        "workflow": SCRIPT,
        "crawled_at": now,
        "crawl_date": run["run_date"],
    }
    raw_lake(tmp / "lake", {"runs": [run], "materials": [image], "verifications": [failure]})
    return tmp


# -- report --------------------------------------------------------------------------------
def test_html_report_to_a_file(workdir: Path) -> None:
    r = run_cli(workdir, "report", "--lake", "lake", "--format", "html", "-o", "out/r.html")
    assert r.code == 0, r.err
    assert r.out == "" and "report written to out/r.html" in r.err
    html = (workdir / "out" / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "&lt;script&gt;alert(document.<wbr>cookie)" in html
    assert '<div class="n">1</div><div class="label">critical</div>' in html
    assert os.listdir(workdir / "out") == ["r.html"]


def test_trend_from_the_previous_json_report(workdir: Path) -> None:
    first = run_cli(workdir, "report", "--lake", "lake", "--format", "json", "-o", "prev.json")
    assert first.code == 0, first.err
    previous = json.loads((workdir / "prev.json").read_text())
    assert previous["version"] == 2
    previous["queries"] = [
        {**q, "findings": q["findings"] + 2} if q["name"] == "verification_failures" else q
        for q in previous["queries"]
        if q["name"] != "non_compliant_workflows"
    ]
    (workdir / "prev.json").write_text(json.dumps(previous))

    r = run_cli(workdir, "report", "--lake", "lake", "-f", "html", "--previous", "prev.json")
    assert r.code == 0, r.err
    assert '3 → 1 <span class="down">↓ (-2)</span>' in r.out
    assert '1 → 1 <span class="same">→</span>' in r.out
    assert '<span class="new">new</span>' in r.out
    md = run_cli(workdir, "report", "--lake", "lake", "--previous", "prev.json")
    assert "## Trend" in md.out and "| 3 | 1 | ↓ -2 |" in md.out
    data = run_cli(workdir, "report", "--lake", "lake", "-f", "json", "--previous", "prev.json")
    changes = data.json()["trend"]["queries"]
    assert next(c for c in changes if c["name"] == "verification_failures") == {
        "name": "verification_failures",
        "previous": 3,
        "current": 1,
        "change": "down",
    }


def test_a_first_run_has_no_previous_report_yet(workdir: Path) -> None:
    args = ("report", "--lake", "lake", "-f", "json", "--previous", "first/last.json")
    first = run_cli(workdir, *args, "--fail-on", "critical")
    assert first.code == 4  # the gate still holds: one critical finding
    assert first.err.splitlines()[0] == (
        "note: no previous report at first/last.json yet: this report has no trend"
    )
    assert first.json()["trend"] is None and first.json()["queries"]
    assert not (workdir / "first").exists()  # nothing invented in its place
    (workdir / "first").mkdir()
    (workdir / "first" / "last.json").write_text("{not json")
    broken = run_cli(workdir, *args)
    assert broken.code == 1 and broken.out == ""
    assert "--previous first/last.json" in broken.err and "note:" not in broken.err


def test_chosen_queries_and_fail_on(workdir: Path) -> None:
    r = run_cli(
        workdir, "report", "--lake", "lake", "-f", "json", "--query", "missing_sbom_digests"
    )
    assert r.code == 0, r.err
    assert [q["name"] for q in r.json()["queries"]] == ["missing_sbom_digests"]

    gated = run_cli(
        workdir,
        "report",
        "--lake",
        "lake",
        "-f",
        "html",
        "-o",
        "gated.html",
        "--fail-on",
        "high",
    )
    assert gated.code == 4
    assert "2 finding(s) at severity high or above (highest: critical)" in gated.err
    assert (workdir / "gated.html").is_file()  # written before the gate fails the job
    only_high = run_cli(
        workdir, "report", "--lake", "lake", "-q", "missing_sbom_digests", "--fail-on", "critical"
    )
    assert only_high.code == 0, only_high.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--query", "nope"), "no saved query 'nope'"),
        (("--previous", "lake"), "--previous lake: cannot read: is a directory"),
        (("--at", "yesterday"), "--at: not a date, timestamp or relative duration: 'yesterday'"),
    ],
)
def test_report_usage_errors(workdir: Path, args: tuple[str, ...], message: str) -> None:
    r = run_cli(workdir, "report", "--lake", "lake", *args)
    assert r.code == 1 and message in r.err and r.out == ""


def test_a_report_at_a_given_instant_is_the_same_every_time(workdir: Path) -> None:
    """--at fixes "now": the report of a lake at an instant does not depend on when it runs."""
    at = "2031-05-04T03:02:01Z"
    first = run_cli(workdir, "report", "--lake", "lake", "-f", "json", "--at", at)
    second = run_cli(workdir, "report", "--lake", "lake", "-f", "json", "--at", at)
    assert first.code == second.code == 0, first.err
    assert first.out == second.out
    assert json.loads(first.out)["generated_at"].startswith("2031-05-04T03:02:01")
    days_ago = run_cli(workdir, "report", "--lake", "lake", "-f", "json", "--at", "2 days")
    assert days_ago.code == 0, days_ago.err
    generated = datetime.fromisoformat(json.loads(days_ago.out)["generated_at"])
    assert abs((datetime.now(UTC) - generated).total_seconds() - 2 * 86400) < 600


# -- query list / show / run ----------------------------------------------------------------
def test_query_list_and_show(workdir: Path) -> None:
    listed = run_cli(workdir, "query", "list", "-f", "json")
    assert listed.code == 0, listed.err
    names = {q["name"]: q for q in listed.json()}
    assert names["missing_sbom_digests"]["params"] == "since=1970-01-01"
    table = run_cli(workdir, "query", "list")
    assert table.out.split()[:4] == ["name", "severity", "title", "params"]

    shown = run_cli(workdir, "query", "show", "missing_sbom_digests")
    assert shown.code == 0, shown.err
    assert "severity:    high" in shown.out and "since (default '1970-01-01')" in shown.out
    assert "FROM image_sbom_gaps" in shown.out  # the SQL itself, from the saved file
    unknown = run_cli(workdir, "query", "show", "nope")
    assert unknown.code == 1 and "known queries: " in unknown.err


def test_query_run_formats_and_parameters(workdir: Path) -> None:
    r = run_cli(
        workdir, "query", "run", "missing_sbom_digests", "--lake", "lake", "-p", "since=1 day"
    )
    assert r.code == 0, r.err
    assert "no SBOM in run" in r.out
    old = run_cli(
        workdir,
        "query",
        "run",
        "missing_sbom_digests",
        "--lake",
        "lake",
        "-p",
        "since=2999-01-01",
        "-f",
        "json",
    )
    assert old.json()["rows"] == [] and old.json()["findings"] == 0
    assert old.json()["params"] == {"since": "2999-01-01"} and old.err == ""
    csv_out = run_cli(
        workdir, "query", "run", "verification_failures", "--lake", "lake", "-f", "csv"
    )
    assert csv_out.out.splitlines()[0].startswith("source,manifest_digest,")
    assert SCRIPT in csv_out.out  # CSV carries values unchanged

    parquet = run_cli(
        workdir,
        "query",
        "run",
        "missing_sbom_digests",
        "--lake",
        "lake",
        "-f",
        "parquet",
        "-o",
        "m.parquet",
    )
    assert parquet.code == 0, parquet.err
    assert pq.read_table(workdir / "m.parquet").column("workflow").to_pylist() == [SCRIPT]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-p", "projekt=x"), "no parameter projekt; accepted: since"),
        (("-p", "since=next week"), "bad value for parameter since='next week'"),
        (("-p", "since"), "--param must be KEY=VALUE"),
        (("-f", "parquet"), "--output FILE.parquet"),
    ],
)
def test_query_run_errors(workdir: Path, args: tuple[str, ...], message: str) -> None:
    r = run_cli(workdir, "query", "run", "missing_sbom_digests", "--lake", "lake", *args)
    assert r.code == 1 and message in r.err and r.out == ""
    assert not (workdir / "xml").exists()


# -- inputs a query needs ------------------------------------------------------------------
INVENTORY_MISSING = "no inventory in this lake: crawl the SecOps store"


def test_query_run_says_the_inventory_is_missing(workdir: Path) -> None:
    """This lake never crawled an inventory: never_integrated's empty answer proves nothing."""
    r = run_cli(workdir, "query", "run", "never_integrated", "--lake", "lake")
    assert r.code == 0, r.err
    assert r.out.strip() == "(no rows)"
    assert f"note: never_integrated: input missing: {INVENTORY_MISSING}" in r.err
    data = run_cli(workdir, "query", "run", "never_integrated", "--lake", "lake", "-f", "json")
    body = data.json()
    assert (body["findings"], body["row_count"], body["rows"]) == (0, 0, [])
    assert [m["input"] for m in body["missing_inputs"]] == ["inventory"]
    assert body["missing_inputs"][0]["message"].startswith(INVENTORY_MISSING)
    # A query that needs no inventory says nothing of it.
    quiet = run_cli(workdir, "query", "run", "verification_failures", "--lake", "lake")
    assert quiet.code == 0 and quiet.err == ""


def test_the_report_says_which_inputs_are_missing(workdir: Path) -> None:
    data = run_cli(workdir, "report", "--lake", "lake", "-f", "json").json()
    missing = {q["name"]: [m["input"] for m in q["missing_inputs"]] for q in data["queries"]}
    assert {n: m for n, m in missing.items() if m} == {
        "contract_drift": ["contracts"],
        "never_integrated": ["inventory"],
        "non_compliant_workflows": ["contracts"],
        "slsa_build_levels": ["inventory"],
        "stale_workflows": ["inventory"],
    }
    md = run_cli(workdir, "report", "--lake", "lake").out
    inventory = next(line for line in md.splitlines() if line.startswith(f"- {INVENTORY_MISSING}"))
    assert inventory.endswith("(for `never_integrated`, `stale_workflows`, `slsa_build_levels`)")
    assert f"- **Input missing**: {INVENTORY_MISSING}" in md
    assert "(no rows: the input above is missing, so this proves nothing)" in md
    assert "no trusted published contract in this lake" in md
    html = run_cli(workdir, "report", "--lake", "lake", "-f", "html").out
    assert f"<strong>Input missing:</strong> {INVENTORY_MISSING}" in html
    assert "(for <code>never_integrated</code>, <code>stale_workflows</code>, " in html
    assert "No rows, which proves nothing without it." in html
    section = html[html.index('id="q-never_integrated"') :]
    assert "No findings." not in section[: section.index("</section>")]
