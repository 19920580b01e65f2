"""`attestlake demo`: the whole chain on the sample organisation, each planted problem found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.audit.report import report_json
from attestlake.demo.demo import DemoResult, run_demo
from attestlake.errors import InputError
from tests.demo_lake import NOW, copy_demo
from tests.integration.cli_helpers import run_cli


def test_demo_organisation_shape(demo: DemoResult) -> None:
    # 106 successful runs of 9 workflows, and one run impersonating ledger-release.
    assert demo.runs_pushed == 107
    # Each run of api-build and worker-build records its start (32 + 6 unfinished ones), and
    # 4 failures and a cancellation are recorded with attest reset.
    assert demo.lifecycle_records == 43
    assert demo.crawl.discovered == 150
    assert demo.crawl.verified == 147 and demo.crawl.not_verified == 3
    assert demo.crawl.published == {"contract": 6, "inventory": 1}
    # First runs of workflows whose contract requires an SBOM were refused before it was added.
    assert demo.refused_pushes == 7
    with open_lake(demo.lake) as lake:
        shape = lake.sql(
            "SELECT count(DISTINCT team) AS teams, count(DISTINCT workflow) AS workflows, "
            "count(*) AS runs, count(*) FILTER (WHERE status = 'success') AS successes, "
            "count(DISTINCT run_date) AS days FROM runs"
        ).to_pylist()[0]
        inventory = lake.sql("SELECT count(*) AS n FROM inventory").to_pylist()[0]["n"]
    assert shape["teams"] == 3 and shape["workflows"] == 9
    assert shape["runs"] == 109 and shape["successes"] == 104  # and 4 failed, 1 cancelled
    assert shape["days"] >= 10
    assert inventory == 10  # the 9 that attest, and mobile-build, which never did


def test_demo_is_deterministic_given_now(tmp_path: Path, demo: DemoResult) -> None:
    again = run_demo(tmp_path / "again", now=NOW)
    assert again.report.findings_by_severity() == demo.report.findings_by_severity()
    query = "SELECT run_id, workflow, status, started_at FROM runs ORDER BY ALL"
    with open_lake(demo.lake) as first, open_lake(again.lake) as second:
        assert first.sql(query).to_pylist() == second.sql(query).to_pylist()


def _rows(demo: DemoResult, name: str) -> list[dict[str, Any]]:
    return next(r for r in demo.report.results if r.query.name == name).rows


def test_demo_report_finds_every_planted_problem(demo: DemoResult) -> None:
    # tests/integration/test_query_library.py checks the rows of each query.
    counts = {r.query.name: r.count for r in demo.report.results}
    assert counts == {
        "builds_outside_ci": 1,
        "contract_drift": 3,
        "failing_runs": 1,
        "impersonation": 1,
        "missing_sbom_digests": 7,
        "never_integrated": 1,
        "new_dependencies": 1,
        "non_compliant_workflows": 3,
        "policy_violations": 1,
        "runner_changes": 2,
        "sbom_quality": 3,
        "shared_artifact_digests": 2,
        "signer_changes": 1,
        "slsa_build_levels": 3,
        "stale_workflows": 1,
        "trust_changes": 0,  # one trust policy: no verdict changed
        "verification_failures": 3,
        "verification_failures_by_reason": 2,
    }  # component_search needs a package: it is run by hand, not in the report
    # Findings, one per entity, from what sample_data/organisation.yaml plants (the rows of
    # each query are checked in tests/integration/test_query_library.py):
    findings = {r.query.name: r.findings for r in demo.report.results}
    assert findings == {
        "builds_outside_ci": 1,  # run: api-build's laptop build
        "contract_drift": 3,  # workflows: terraform-modules, kiosk-image, login-ui-build
        "failing_runs": 1,  # workflow: worker-build
        "impersonation": 1,  # envelope: the release key's ledger-release claim
        "missing_sbom_digests": 7,  # images: 3 of base-images, 3 of login-ui, 1 of worker
        "never_integrated": 1,  # workflow: mobile-build
        "new_dependencies": 1,  # package: orjson in api-build
        "non_compliant_workflows": 2,  # workflows: kiosk-image (runner), login-ui-build
        "policy_violations": 1,  # policy: components_have_purls of sso-build's latest run
        "runner_changes": 2,  # workflows: sso-build (to GitLab), base-images (self-hosted)
        "sbom_quality": 2,  # ledger-release's SBOMs (2 sloppy components), sso-build's (1)
        "shared_artifact_digests": 1,  # digest: base-images' image re-attested by sso-build
        "signer_changes": 1,  # workflow: cli-release
        "slsa_build_levels": 3,  # workflows: mobile-build L0, base-images L1, kiosk-image L1
        "stale_workflows": 1,  # workflow: sso-build
        "trust_changes": 0,  # one trust policy: no verdict changed
        "verification_failures": 3,  # envelopes: tampered, rogue-signed, impersonating
        "verification_failures_by_reason": 2,  # reasons: untrusted_signer, bad_signature
    }
    # A severity counts each entity once: the impersonating envelope is both an impersonation
    # and a verification failure (critical 3, not 4); sso-build is both stale and moved runner
    # (medium: 3 + 1 + 1 + 2 + 1 + 1 workflows, sso-build once: 8).
    assert demo.report.findings_by_severity() == {
        "info": 2,
        "low": 2 + 1 + 3 + 1,
        "medium": 8,
        "high": 1 + 7 + 2 + 1,
        "critical": 3,
    }
    assert demo.report.max_severity() == "critical"
    assert demo.report.unanswered() == []  # the demo crawls its inventory and contracts


def test_demo_finds_the_workflow_that_dropped_its_sbom(demo: DemoResult) -> None:
    rows = _rows(demo, "non_compliant_workflows")
    assert [
        (r["workflow"], r["problem"], r["missing_material"] or r["missing_annotation"])
        for r in rows
        if r["workflow"] == "login-ui-build"
    ] == [
        ("login-ui-build", "missing annotation", "compliance-tier"),
        ("login-ui-build", "missing material", "sbom"),
    ]


def test_demo_records_what_the_contracts_policies_said_at_push(demo: DemoResult) -> None:
    """container-build revision 2 names a gating policy and one that warns, image-quick
    revision 2 a gating one: every run pushed against them recorded each evaluation in its
    signed statement, and the crawler kept them. The only violation is the planted one."""
    with open_lake(demo.lake) as lake:
        evaluations = lake.sql(
            "SELECT workflow, policy_name, gate, status, count(*) AS runs, "
            "sum(violations) AS violations FROM policy_evaluations GROUP BY ALL ORDER BY ALL"
        ).to_pylist()
        violations = lake.sql(
            "SELECT DISTINCT workflow, policy_name, gate, position, violation "
            "FROM policy_violations"
        ).to_pylist()
        per_run = lake.sql(
            "SELECT count(DISTINCT v.run_id) AS runs, count(*) AS rows FROM policy_violations v "
            "JOIN runs r USING (manifest_digest, envelope_digest)"
        ).to_pylist()[0]
        skipped = lake.sql(
            "SELECT DISTINCT skipped_reason FROM policy_evaluations WHERE status = 'skipped'"
        ).to_pylist()
    table = [
        (e["workflow"], e["policy_name"], e["gate"], e["status"], e["runs"], e["violations"])
        for e in evaluations
    ]
    purls, registries, licences = (
        "components_have_purls",
        "images_from_allowed_registries",
        "denied_licences",
    )
    assert table == [
        ("api-build", purls, False, "passed", 16, 0),
        ("api-build", registries, True, "passed", 16, 0),
        # revision 2 since 4 days: its runs of the last 4 days; every 4th ships no SBOM
        ("base-images", licences, True, "passed", 3, 0),
        ("base-images", licences, True, "skipped", 2, 0),
        # the last 3 runs pin revision 1, which names no policy
        ("login-ui-build", purls, False, "passed", 11, 0),
        ("login-ui-build", registries, True, "passed", 11, 0),
        ("sso-build", purls, False, "violated", 12, 12),  # the vendored jar: pushed anyway
        ("sso-build", registries, True, "passed", 12, 0),
        ("worker-build", purls, False, "passed", 14, 0),
        ("worker-build", registries, True, "passed", 14, 0),
    ]
    assert violations == [
        {
            "workflow": "sso-build",
            "policy_name": purls,
            "gate": False,
            "position": 0,
            "violation": "1 SBOM component(s) without a purl, e.g. saml-bridge",
        }
    ]
    assert per_run == {"runs": 12, "rows": 12}  # one per verified run, each joined to its run
    assert skipped == [
        {"skipped_reason": "the run has no SBOM_CYCLONEDX_JSON or SBOM_SPDX_JSON material"}
    ]


def test_demo_report_lists_the_policy_violation(demo: DemoResult) -> None:
    markdown = demo.report_path.read_text()
    section = markdown.split("## Policy violations recorded at push", 1)[1].split("\n## ", 1)[0]
    assert "- Query: `policy_violations`" in section
    assert "1 finding (one per project, workflow, policy) in 1 row" in section
    (row,) = [line for line in section.splitlines() if line.startswith("| identity | sso |")]
    assert "| sso-build |" in row and r"| components\_have\_purls | false | low | 1 |" in row
    assert "without a purl, e.g. saml-bridge" in row
    html = (demo.directory / "report.html").read_text()
    assert "Policy violations recorded at push" in html and "saml-bridge" in html
    (entry,) = [q for q in report_json(demo.report)["queries"] if q["name"] == "policy_violations"]
    assert entry["findings"] == 1 and entry["finding"] == ["project", "workflow", "policy"]
    assert [(r["workflow"], r["policy"], r["gate"]) for r in entry["rows"]] == [
        ("sso-build", "components_have_purls", False)
    ]


def test_demo_finds_tampered_and_untrusted_envelopes(demo: DemoResult) -> None:
    rows = _rows(demo, "verification_failures")
    assert sorted((r["workflow"], r["reason"]) for r in rows) == [
        ("cli-release", "bad_signature"),
        ("cli-release", "untrusted_signer"),
        ("ledger-release", "untrusted_signer"),
    ]
    with open_lake(demo.lake) as lake:
        leaked = lake.sql(
            "SELECT count(*) AS n FROM runs r JOIN verifications v USING (manifest_digest) "
            "WHERE v.status <> 'verified'"
        ).to_pylist()[0]["n"]
    assert leaked == 0


def test_demo_cli_reruns_in_place_and_refuses_foreign_dirs(
    tmp_path: Path, demo: DemoResult
) -> None:
    copy_demo(demo, tmp_path / "d")  # a directory an earlier `attestlake demo` made
    (tmp_path / "d" / "report.html").unlink()
    again = run_cli(tmp_path, "demo", "--dir", "d")
    assert again.code == 0, again.err
    assert "## Non-compliant workflows" in again.out and "lake:" in again.out
    html = (tmp_path / "d" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "Non-compliant workflows" in html
    assert "<script" not in html.lower()
    report = run_cli(
        tmp_path, "report", "--lake", "d/lake", "--format", "json", "--fail-on", "critical"
    )
    assert report.code == 4 and "critical" in report.err
    ok = run_cli(tmp_path, "report", "--lake", "d/lake", "--format", "json")
    assert ok.code == 0 and ok.json()["summary"]["critical"] == 3

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not empty"):
        run_demo(tmp_path / "mine", now=NOW)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
