"""The saved query ``policy_violations`` at its edges, on a lake written row by row: only the
latest successful run of each workflow counts, a workflow that fixed its run is not listed,
and a violation sentence (text a policy wrote, signed by a CI) is shown as text in every report
format, never as markup."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.cli_helpers import run_cli
from tests.lakefactory import raw_lake

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script> | ## not a heading | [x](javascript:alert(1))"


def _run(n: int, workflow: str, *, hours: int, status: str = "success") -> dict[str, Any]:
    return {
        "run_id": f"run-{n}",
        "project": "shop",
        "workflow": workflow,
        "team": "web",
        "status": status,
        "started_at": T0 + timedelta(hours=hours),
        "manifest_digest": f"sha256:{n:02d}" + "0" * 62,
        "envelope_digest": f"sha256:{n:02d}" + "1" * 62,
        "run_date": "2026-11-01",
    }


def _violation(run: dict[str, Any], text: str, position: int = 0) -> dict[str, Any]:
    keys = ("run_id", "project", "workflow", "team", "manifest_digest", "envelope_digest")
    return {
        **{k: run[k] for k in keys},
        "policy_name": "own_policy",
        "policy_digest": "sha256:" + "a" * 64,
        "gate": False,
        "position": position,
        "violation": text,
        "run_date": run["run_date"],
    }


def _evaluation(run: dict[str, Any], count: int) -> dict[str, Any]:
    row = _violation(run, "")
    del row["position"], row["violation"]
    return {**row, "severity": "medium", "status": "violated", "violations": count,
            "recorded_violations": min(count, 2)}  # fmt: skip


def _lake(tmp: Path) -> None:
    fixed_old = _run(1, "fixed", hours=0)  # violated, then a later run passed
    fixed_new = _run(2, "fixed", hours=5)
    warned = _run(3, "warned", hours=1)  # its latest successful run violated it...
    failed_after = _run(4, "warned", hours=9, status="failed")  # ...and a later run failed
    raw_lake(
        tmp / "lake",
        {
            "runs": [fixed_old, fixed_new, warned, failed_after],
            "policy_evaluations": [_evaluation(fixed_old, 1), _evaluation(warned, 250)],
            "policy_violations": [
                _violation(fixed_old, "old news"),
                _violation(warned, HOSTILE),
                _violation(warned, "second", position=1),
            ],
        },
    )


def test_only_the_latest_successful_run_of_each_workflow(tmp_path: Path) -> None:
    _lake(tmp_path)
    out = run_cli(
        tmp_path, "query", "run", "policy_violations", "--lake", "lake", "--format", "json"
    )
    assert out.code == 0, out.err
    answer = out.json()
    rows = [(r["workflow"], r["run_id"], r["violations"], r["violation"]) for r in answer["rows"]]
    assert rows == [
        ("warned", "run-3", 250, HOSTILE),
        ("warned", "run-3", 250, "second"),
    ]
    assert answer["findings"] == 1  # one policy of one workflow, however many rows


def test_a_violation_sentence_is_text_in_every_report_format(tmp_path: Path) -> None:
    _lake(tmp_path)
    args = ("report", "--lake", "lake", "--query", "policy_violations")
    html = run_cli(tmp_path, *args, "--format", "html")
    assert html.code == 0, html.err
    assert "<script>" not in html.out and "&lt;script&gt;" in html.out
    assert 'href="javascript' not in html.out
    markdown = run_cli(tmp_path, *args)
    assert markdown.code == 0, markdown.err
    (row,) = [line for line in markdown.out.splitlines() if "run-3" in line and "alert" in line]
    cells = row.strip("|").split(" | ")
    assert len(cells) == len(answer_columns(tmp_path))  # the '|' did not add a column
    assert "\n## not a heading" not in markdown.out
    data = run_cli(tmp_path, *args, "--format", "json")
    (query,) = json.loads(data.out)["queries"]
    assert query["rows"][0]["violation"] == HOSTILE


def answer_columns(tmp: Path) -> list[str]:
    out = run_cli(tmp, "query", "run", "policy_violations", "--lake", "lake", "--format", "json")
    return list(out.json()["rows"][0])
