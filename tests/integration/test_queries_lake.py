"""The saved queries and the report over a real lake: collector -> OCI layout -> crawl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from attestlake.audit.queries import run_query
from attestlake.audit.query_files import get_query
from attestlake.audit.report import render_json, render_markdown, run_report, select_queries
from attestlake.errors import FindingsAtSeverity
from attestlake.lake.lake import Lake
from tests import assets
from tests.lakefactory import (
    CRAWL_TIME,
    BuiltLake,
    RunSpec,
    build_lake,
    cyclonedx_sbom,
    image_ref,
    when,
)

IMAGE_ONLY = [("CONTAINER_IMAGE", "image")]
WITH_SBOM = [("CONTAINER_IMAGE", "image"), ("SBOM_CYCLONEDX_JSON", "sbom"), ("JUNIT_XML", "tests")]
CONTRACTS = {
    # revision 1 of "build" needs only the image; revision 2 also needs an SBOM
    "build-r1": assets.text("contracts/build-r1-github-image.yaml"),
    "build-r2": assets.text("contracts/build-r2-github-image-sbom-optional-junit.yaml"),
    # a deploy workflow takes an image as input (not an output): no SBOM expected
    "deploy-r1": assets.text("contracts/deploy-r1-github-image-input.yaml"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltLake:
    tmp = tmp_path_factory.mktemp("querylake")
    sbom = cyclonedx_sbom(tmp / "evidence" / "sbom.cdx.json")
    with_sbom = {"sbom": sbom}
    runs = [
        # payments/build-api: compliant with r2 first, then fell back to r1 and dropped its SBOM
        RunSpec(
            "payments",
            "build-api",
            "build-r2",
            when(2024, 5, 1),
            {"image": image_ref("api-1"), **with_sbom},
            run_id="api-1",
        ),
        RunSpec(
            "payments",
            "build-api",
            "build-r1",
            when(2024, 5, 10),
            {"image": image_ref("api-2")},
            run_id="api-2",
        ),
        # payments/build-worker: compliant with r2 (the optional JUnit report is absent)
        RunSpec(
            "payments",
            "build-worker",
            "build-r2",
            when(2024, 5, 3),
            {"image": image_ref("worker-1"), **with_sbom},
            team="team-b",
            run_id="worker-1",
        ),
        # checkout/build-web: an older non-compliant run, but the latest run is compliant
        RunSpec(
            "checkout",
            "build-web",
            "build-r1",
            when(2024, 5, 2),
            {"image": image_ref("web-1")},
            team="team-c",
            run_id="web-1",
        ),
        RunSpec(
            "checkout",
            "build-web",
            "build-r2",
            when(2024, 5, 12),
            {"image": image_ref("web-2"), **with_sbom},
            team="team-c",
            run_id="web-2",
        ),
        # ops/deploy: an input image only
        RunSpec(
            "ops",
            "deploy",
            "deploy-r1",
            when(2024, 5, 4),
            {"base": image_ref("base")},
            team="team-ops",
            run_id="deploy-1",
        ),
        # ops/release: pushed, then its envelope was replaced (one payload byte changed)
        RunSpec(
            "ops",
            "release",
            "build-r1",
            when(2024, 5, 5),
            {"image": image_ref("release-1")},
            team="team-ops",
            run_id="release-1",
            tamper=True,
        ),
        # ops/rogue: signed by a key the trust policy does not hold
        RunSpec(
            "ops",
            "rogue",
            "build-r1",
            when(2024, 5, 6),
            {"image": image_ref("rogue-1")},
            team="team-ops",
            run_id="rogue-1",
            signer="stranger",
        ),
    ]
    return build_lake(tmp, contracts=CONTRACTS, runs=runs)


@pytest.fixture
def lake(built: BuiltLake) -> Iterator[Lake]:
    with built.open() as lake:
        yield lake


def test_crawl_saw_every_run(built: BuiltLake) -> None:
    result = built.crawl_result
    assert (result.discovered, result.verified, result.not_verified) == (8, 6, 2)
    assert result.reasons == {"bad_signature": 1, "untrusted_signer": 1}


def test_non_compliant_workflows(lake: Lake) -> None:
    result = run_query(lake, get_query("non_compliant_workflows"))
    assert result.rows == [
        {
            "project": "payments",
            "workflow": "build-api",
            "team": "team-a",
            "run_id": "api-2",
            "started_at": result.rows[0]["started_at"],
            "contract_name": "build",
            "run_contract_revision": 1,
            "latest_contract_revision": 2,
            "problem": "missing material",
            "missing_material": "sbom",
            "missing_material_type": "SBOM_CYCLONEDX_JSON",
            "missing_annotation": None,
            "runner_type": "GITHUB_ACTION",
            "allowed_runner_types": None,
            "runner_url": result.rows[0]["runner_url"],
        }
    ]
    row = result.rows[0]
    assert row["started_at"] == when(2024, 5, 10)  # the same instant, whatever the session TZ
    assert row["runner_url"].startswith("https://github.com/acme/payments/actions/runs/")


def test_missing_sbom_digests(lake: Lake) -> None:
    result = run_query(lake, get_query("missing_sbom_digests"))
    assert {(r["project"], r["workflow"], r["run_id"], r["problem"]) for r in result.rows} == {
        ("payments", "build-api", "api-2", "no SBOM in run"),
        ("checkout", "build-web", "web-1", "no SBOM in run"),
    }
    assert result.count == 2
    first = result.rows[0]  # ordered by project, workflow
    assert (first["run_id"], first["image"]) == ("web-1", image_ref("web-1"))
    assert first["image_digest"] == image_ref("web-1").split("@", 1)[1]

    since = run_query(lake, get_query("missing_sbom_digests"), {"since": "2024-05-05"})
    assert [r["run_id"] for r in since.rows] == ["api-2"]
    assert since.params == {"since": "2024-05-05"}


def test_verification_failures(lake: Lake, built: BuiltLake) -> None:
    result = run_query(lake, get_query("verification_failures"))
    assert [(r["reason"], r["project"], r["workflow"]) for r in result.rows] == [
        ("bad_signature", "ops", "release"),
        ("untrusted_signer", "ops", "rogue"),
    ]
    tampered = result.rows[0]
    assert tampered["source"].endswith(":run-release-1")
    assert tampered["signer"] == "keys/trusted.pub"  # the key named in the envelope
    assert tampered["envelope_digest"] != built.pushed["release-1"].envelope_digest
    assert tampered["manifest_digest"] != built.pushed["release-1"].manifest_digest
    assert tampered["crawled_at"] == CRAWL_TIME


def test_failed_envelopes_never_reach_trusted_tables(lake: Lake) -> None:
    runs = {r["run_id"] for r in lake.sql("SELECT run_id FROM runs").to_pylist()}
    assert runs == {"api-1", "api-2", "worker-1", "web-1", "web-2", "deploy-1"}
    for table in ("subjects", "materials"):
        leaked = lake.sql(
            f"SELECT count(*) AS n FROM {table} WHERE run_id IN ('release-1', 'rogue-1')"
        )
        assert leaked.column("n")[0].as_py() == 0


def test_report(lake: Lake, built: BuiltLake) -> None:
    report = run_report(lake, now=CRAWL_TIME)
    assert report.lake == str(built.lake_path)
    counts = report.findings_by_severity()
    assert counts["critical"] == 2
    assert counts["high"] == 3  # 1 non-compliant workflow + 2 images without SBOM
    assert report.max_severity() == "critical"
    assert report.reaches("high") and report.reaches("critical") and report.reaches("info")
    with pytest.raises(FindingsAtSeverity, match="5 finding"):
        report.fail_on("high")

    markdown = render_markdown(report)
    for q in select_queries():  # every query that runs on its defaults
        assert q.title in markdown
    assert "| critical | 2 |" in markdown and "| high | 3 |" in markdown
    assert markdown.index("Attestations that failed verification") < markdown.index(
        "Non-compliant workflows"
    )

    data = json.loads(render_json(report))
    assert data["lake"] == str(built.lake_path)
    assert data["generated_at"] == "2024-06-01T12:00:00Z"
    assert data["summary"]["critical"] == 2 and data["summary"]["high"] == 3
    assert data["max_severity"] == "critical"
    by_name = {q["name"]: q for q in data["queries"]}
    assert by_name["non_compliant_workflows"]["findings"] == 1
    assert by_name["non_compliant_workflows"]["rows"][0]["started_at"] == "2024-05-10T10:00:00Z"
    assert by_name["verification_failures"]["severity"] == "critical"


def test_report_without_findings(tmp_path: Path) -> None:
    sbom = cyclonedx_sbom(tmp_path / "sbom.json")
    built = build_lake(
        tmp_path,
        contracts={"build-r2": CONTRACTS["build-r2"]},
        runs=[
            RunSpec(
                "payments",
                "build-api",
                "build-r2",
                when(2024, 5, 1),
                {"image": image_ref("a"), "sbom": sbom},
            )
        ],
    )
    with built.open() as lake:
        report = run_report(lake)
    assert report.max_severity() is None
    assert not report.reaches("info")
    report.fail_on("info")  # nothing to fail on
    assert "Highest severity found: none" in render_markdown(report)
    assert json.loads(render_json(report))["max_severity"] is None
