"""`attestlake demo`: the whole chain on the sample organisation, each planted problem found."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestlake import open_lake
from attestlake.demo import run_demo
from attestlake.errors import InputError
from tests.integration.cli_helpers import run_cli

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return run_demo(tmp_path_factory.mktemp("demo") / "out", now=NOW)


def test_demo_organisation_shape(demo) -> None:  # type: ignore[no-untyped-def]
    assert demo.runs_pushed == 100
    assert demo.crawl.discovered == 100
    assert demo.crawl.verified == 98 and demo.crawl.not_verified == 2
    # First runs of workflows whose contract requires an SBOM were refused before it was added.
    assert demo.refused_pushes == 7
    with open_lake(demo.lake) as lake:
        shape = lake.sql(
            "SELECT count(DISTINCT team) AS teams, count(DISTINCT workflow) AS workflows, "
            "count(*) AS runs, count(DISTINCT run_date) AS days FROM runs"
        ).to_pylist()[0]
    assert shape["teams"] == 3 and shape["workflows"] == 8 and shape["runs"] == 98
    assert shape["days"] >= 5


def _rows(demo, name: str):  # type: ignore[no-untyped-def]
    return next(r for r in demo.report.results if r.query.name == name).rows


def test_demo_finds_the_workflow_that_dropped_its_sbom(demo) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(demo, "non_compliant_workflows")
    assert [
        (
            r["workflow"],
            r["missing_material"],
            r["run_contract_revision"],
            r["latest_contract_revision"],
        )
        for r in rows
    ] == [("login-ui-build", "sbom", 1, 2)]


def test_demo_finds_images_without_sbom(demo) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(demo, "missing_sbom_digests")
    by_workflow: dict[str, int] = {}
    for r in rows:
        by_workflow[r["workflow"]] = by_workflow.get(r["workflow"], 0) + 1
        assert r["problem"] == "no SBOM in run"
    # base-images skips its optional SBOM every 4th run (3 of 12); login-ui's last 3 runs use
    # the old contract revision that has no SBOM. Compliant workflows are not reported.
    assert by_workflow == {"base-images": 3, "login-ui-build": 3}


def test_demo_finds_tampered_and_untrusted_envelopes(demo) -> None:  # type: ignore[no-untyped-def]
    rows = _rows(demo, "verification_failures")
    assert sorted((r["workflow"], r["reason"]) for r in rows) == [
        ("cli-release", "bad_signature"),
        ("cli-release", "untrusted_signer"),
    ]
    with open_lake(demo.lake) as lake:
        leaked = lake.sql(
            "SELECT count(*) AS n FROM runs r JOIN verifications v USING (manifest_digest) "
            "WHERE v.status <> 'verified'"
        ).to_pylist()[0]["n"]
    assert leaked == 0
    assert demo.report.max_severity() == "critical"


def test_demo_cli_reruns_in_place_and_refuses_foreign_dirs(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "demo", "--dir", "d")
    assert first.code == 0, first.err
    assert "## Non-compliant workflows" in first.out and "lake:" in first.out
    again = run_cli(tmp_path, "demo", "--dir", "d")
    assert again.code == 0, again.err
    report = run_cli(
        tmp_path, "report", "--lake", "d/lake", "--format", "json", "--fail-on", "critical"
    )
    assert report.code == 4 and "critical" in report.err
    ok = run_cli(tmp_path, "report", "--lake", "d/lake", "--format", "json")
    assert ok.code == 0 and ok.json()["summary"]["critical"] == 2

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        run_demo(tmp_path / "mine", now=NOW)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
