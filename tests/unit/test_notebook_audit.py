"""The overview's numbers and charts, on the demo lake and on hand-made lakes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from attestlake.demo.demo import DemoResult
from attestlake.notebook import charts
from attestlake.notebook.audit import AuditData
from attestlake.notebook.context import open_context
from attestlake.notebook.overview import findings_table, risk_table, summary
from attestlake.notebook.selection import Selection
from tests.demo_lake import NOW
from tests.lakefactory import raw_lake

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def audit(demo: DemoResult) -> AuditData:
    # The report's "now" is the demo's: stale, failing and new-dependency findings are relative.
    return AuditData.load(open_context(demo.lake), now=NOW)


def test_runs_that_fell_back_to_an_old_revision_do_not_meet_their_contract(
    audit: AuditData,
) -> None:
    failing = audit.runs.filter(~pl.col("compliant"))
    # login-ui-build's last 3 runs fell back to container-build revision 1 (no SBOM, no
    # annotation, which revision 2 requires); kiosk-image's runs since image-quick revision 2
    # came out (4 days ago) build on a workstation, which it no longer allows.
    assert failing.group_by("workflow").len().sort("workflow").rows() == [
        ("kiosk-image", 2),
        ("login-ui-build", 3),
    ]
    r2_published = NOW - timedelta(days=4)
    assert (failing.filter(pl.col("workflow") == "kiosk-image")["started_at"] >= r2_published).all()
    assert set(failing["contract_revision"]) == {1}
    assert (
        failing.filter(pl.col("workflow") == "login-ui-build")["problems"].to_list()
        == ["missing annotation: compliance-tier; missing material: sbom"] * 3
    )
    # terraform-modules also stays on revision 1, but revision 2 of its contract asks nothing
    # more: it meets it, as non_compliant_workflows says.
    assert audit.runs.filter(pl.col("workflow") == "terraform-modules")["compliant"].all()
    # Each workflow's latest run is judged as the report's non_compliant_workflows judges it.
    latest = audit.runs.sort("started_at").group_by("project", "workflow").last()
    report = next(r for r in audit.report.results if r.query.name == "non_compliant_workflows")
    assert set(latest.filter(~pl.col("compliant"))["workflow"]) == {
        r["workflow"] for r in report.rows
    }
    assert audit.runs.height == 104
    by_day = audit.compliance_by_day(Selection(team="identity"))
    assert by_day["team"].unique().to_list() == ["identity"]
    below = by_day.filter(pl.col("percent") < 100)
    assert below["compliant"].sum() + 3 == below["runs"].sum()
    assert set(audit.compliance_by_day(Selection(team="payments"))["percent"]) == {100.0}


def test_verification_outcomes_by_reason(audit: AuditData) -> None:
    outcomes = audit.verification_outcomes(Selection())
    assert {r["reason"]: r["attestations"] for r in outcomes.to_dicts()} == {
        "verified": 147,
        "bad_signature": 1,
        "untrusted_signer": 2,
    }
    # Unverified envelopes claim a workflow: they count for its team (from the verified runs).
    platform = audit.verification_outcomes(Selection(team="platform"))
    assert set(platform["reason"]) == {"verified", "bad_signature", "untrusted_signer"}
    # The release key's claim to be ledger-release counts for ledger's team.
    assert audit.verification_outcomes(Selection(team="payments"))["reason"].to_list() == [
        "verified",
        "untrusted_signer",
    ]
    assert audit.verification_outcomes(Selection(team="identity"))["reason"].to_list() == [
        "verified"
    ]


def test_findings_by_query_and_severity(audit: AuditData) -> None:
    counts = {r["query"]: r["findings"] for r in audit.findings_by_query(Selection()).to_dicts()}
    assert counts == {
        "impersonation": 1,
        "verification_failures": 3,
        "builds_outside_ci": 1,
        "missing_sbom_digests": 7,
        "non_compliant_workflows": 2,  # workflows, from 3 rows
        "shared_artifact_digests": 1,  # one digest, claimed by 2 workflows
        "contract_drift": 3,
        "failing_runs": 1,
        "never_integrated": 1,
        "runner_changes": 2,
        "signer_changes": 1,
        "stale_workflows": 1,
        "trust_changes": 0,  # one trust policy: no verdict changed
        "new_dependencies": 1,
        "policy_violations": 1,  # sso-build's latest run: components_have_purls
        "sbom_quality": 2,  # ledger-release's SBOMs (2 components), sso-build's (1)
        "slsa_build_levels": 3,
        "verification_failures_by_reason": 2,
    }
    assert counts == {r.query.name: r.findings for r in audit.report.results}
    # With no filter, the findings per severity are the report's.
    assert audit.findings_by_severity(Selection()) == audit.report.findings_by_severity()
    assert audit.findings_by_severity(Selection()) == {
        "info": 2,
        "low": 7,
        "medium": 8,
        "high": 11,
        "critical": 3,
    }
    critical = audit.findings_by_query(Selection(min_severity="critical"))
    assert critical["query"].to_list() == ["impersonation", "verification_failures"]
    rows = audit.findings_in(Selection(workflow="login-ui-build"))
    assert set(rows["query"]) == {
        "contract_drift",
        "missing_sbom_digests",
        "non_compliant_workflows",
    }
    assert all(u.startswith("https://github.com/") for u in rows["runner_url"])
    assert "sha256:" in rows["detail"][0] and "…" in rows["detail"][0]  # digests shortened


def test_the_date_filter(audit: AuditData) -> None:
    day = date(2026, 11, 15)
    runs = audit.compliance_by_day(Selection(start=day, end=day))
    assert set(runs["day"]) == {day}
    assert (
        audit.findings_in(Selection(end=date(2026, 11, 12)))
        .filter(pl.col("query") == "non_compliant_workflows")
        .is_empty()
    )
    assert audit.hidden_by_window(Selection()) == (0, 0)


def test_a_date_window_says_what_it_hides(audit: AuditData) -> None:
    """The runs' days keep every run, yet hide findings: undated ones (never_integrated,
    contract_drift, sbom_quality, the by-reason overview...) and those dated before."""
    first, last = audit.options().first_day, audit.options().last_day
    window = Selection(start=first, end=last)
    assert audit.compliance_by_day(window).equals(audit.compliance_by_day(Selection()))
    everything = audit.findings_by_severity(Selection())
    shown = audit.findings_by_severity(window)
    hidden, undated = audit.hidden_by_window(window)
    assert hidden == sum(everything.values()) - sum(shown.values()) > 0
    undated_findings = (
        audit.findings.group_by("severity", "entity")
        .agg(pl.col("day").is_null().all())
        .filter(pl.col("day"))
    )
    assert undated == undated_findings.height > 0
    notes = findings_table(audit, window)
    assert f"hides {hidden} finding(s), {undated} of them undated" in notes[0]._repr_html_()
    assert len(findings_table(audit, Selection())) == 1  # no window, nothing hidden


def test_workflows_ranked_by_risk(audit: AuditData) -> None:
    ranking = audit.risk_ranking(Selection())
    top = ranking.head(3).select("workflow", "risk_score").rows()
    assert [w for w, _ in top] == ["login-ui-build", "base-images", "cli-release"]
    # login-ui: high findings: the workflow is non-compliant and 3 images shipped without an
    # SBOM (4 × 5); medium: its contract drift (2); + 10 × 3/14 runs not meeting the contract.
    assert top[0][1] == pytest.approx(22 + 10 * 3 / 14)
    # base-images: 3 images without SBOM and the digest sso-build re-attested (4 high), its
    # runner change (medium), its SLSA level (low).
    assert top[1][1] == 4 * 5 + 2 + 1
    # cli-release: 2 failed envelopes (critical), its signer change (medium).
    assert top[2][1] == 2 * 10 + 2
    ranked = {r["workflow"]: r for r in ranking.to_dicts()}
    # Runs not meeting their contract: exactly the non-compliant workflows' (none elsewhere).
    assert {w for w, r in ranked.items() if r["not_meeting"]} == {"login-ui-build", "kiosk-image"}
    # ledger-release: one impersonating envelope (critical) and its sloppy SBOMs (1 low).
    assert ranked["ledger-release"]["risk_score"] == 10 + 1
    # Every sample workflow has a planted finding; mobile-build, which never ran, is ranked too.
    assert ranking.filter(pl.col("risk_score") == 0).is_empty()
    assert ranking.height == 10


def test_revision_adoption_on_the_demo(audit: AuditData) -> None:
    adoption = audit.revision_adoption(Selection())
    rows = {(r["contract_name"], r["contract_revision"], r["team"]): r for r in adoption.to_dicts()}
    # container-build r1 only reappears after r2 (a fall-back): it is no rollout.
    assert ("container-build", 1, "identity") not in rows
    assert rows[("container-build", 2, "identity")]["adopted"]
    assert 0 < rows[("container-build", 2, "payments")]["days"] < 1
    # library-release r2 was rolled out by platform; ledger's team never ran it since.
    assert ("library-release", 2, "platform") in rows
    assert ("library-release", 2, "payments") not in rows
    assert set(audit.revision_adoption(Selection(team="payments"))["team"]) == {"payments"}


def _run(
    run_id: str, team: str, revision: int, when: datetime, **extra: object
) -> dict[str, object]:
    return {
        "run_id": run_id,
        "manifest_digest": f"sha256:{run_id:0>64}",
        "team": team,
        "project": f"{team}-app",
        "workflow": "build",
        "status": "success",
        "contract_name": "build",
        "contract_revision": revision,
        "contract_digest": f"sha256:{revision:0>64}",
        "started_at": when,
        "run_date": f"{when:%Y-%m-%d}",
        **extra,
    }


def test_a_team_still_on_the_old_revision_and_unfinished_runs(tmp_path: Path) -> None:
    t0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
    day = timedelta(days=1)
    lake = raw_lake(
        tmp_path / "lake",
        {
            "runs": [
                _run("1", "red", 1, t0),
                _run("2", "blue", 1, t0 + day),
                _run("3", "red", 2, t0 + 2 * day),
                _run("4", "blue", 1, t0 + 5 * day),
                _run("5", "blue", 2, t0 + 6 * day, status="failed"),
            ],
            "contract_requirements": [
                {
                    "contract_name": "build",
                    "contract_revision": 2,
                    "contract_digest": f"sha256:{2:0>64}",
                    "material_name": "sbom",
                    "material_type": "SBOM_CYCLONEDX_JSON",
                    "optional": False,
                    "manifest_digest": f"sha256:{'3':0>64}",  # learned from run 3
                },
            ],
        },
    )
    audit = AuditData.load(open_context(lake))
    # The failed run is not counted; run 3 misses revision 2's SBOM; run 2 ran before anyone
    # knew revision 2; run 4, blue's latest, stayed on revision 1 and misses it too.
    assert audit.runs["run_id"].to_list() == ["1", "2", "3", "4"]
    assert audit.runs["compliant"].to_list() == [True, True, False, False]
    adoption = {
        (r["contract_revision"], r["team"]): r
        for r in audit.revision_adoption(Selection()).to_dicts()
    }
    assert adoption[(2, "red")]["adopted"] and adoption[(2, "red")]["days"] == 0
    blue = adoption[(2, "blue")]
    assert not blue["adopted"] and blue["days"] == pytest.approx(3.0)  # waited to the last run
    assert charts.revision_adoption(audit, Selection()).png().startswith(PNG)
    # This lake crawled no inventory and no published contract: the summary says so.
    text = summary(audit)._repr_html_()
    assert "(never_integrated): input missing: no inventory in this lake" in text
    assert "(non_compliant_workflows): input missing: no trusted published contract" in text


@pytest.mark.parametrize("chart", charts.CHARTS, ids=[c.__name__ for c in charts.CHARTS])
def test_every_chart_has_a_title_axis_labels_and_renders(audit: AuditData, chart) -> None:  # type: ignore[no-untyped-def]
    drawn = chart(audit, Selection())
    assert not drawn.data.is_empty()
    assert drawn.figure.get_suptitle() == drawn.title
    axes = drawn.figure.axes
    assert axes[-1].get_xlabel() and "(" in axes[-1].get_xlabel()  # a unit
    assert all(ax.get_yticklabels() for ax in axes)
    assert drawn.png().startswith(PNG)
    bundle, metadata = drawn._repr_mimebundle_()
    assert bundle["image/png"].startswith(PNG) and drawn.title in bundle["text/plain"]
    assert metadata["image/png"]["alt"] == drawn.title


@pytest.mark.parametrize("chart", charts.CHARTS, ids=[c.__name__ for c in charts.CHARTS])
def test_a_selection_with_nothing_in_it_says_so(audit: AuditData, chart) -> None:  # type: ignore[no-untyped-def]
    drawn = chart(audit, Selection(team="nobody", min_severity="critical"))
    texts = [t.get_text() for ax in drawn.figure.axes for t in ax.texts]
    assert drawn.data.is_empty() or chart is charts.findings_by_query
    assert drawn.png().startswith(PNG)
    if drawn.data.is_empty():
        assert any(t.startswith("No ") for t in texts)


def test_tables_link_findings_to_their_runs_and_escape_values(audit: AuditData) -> None:
    (table,) = findings_table(audit, Selection(workflow="base-images"))
    html = table._repr_html_()
    # 3 images without SBOM, the move to self-hosted runners, its SLSA level; the digest that
    # sso-build re-attested names no run of its own.
    assert html.count('<a href="https://github.com/cyberdyne/base-images/actions/runs/') == 5
    assert "Findings: critical 0 · high 4 · medium 1 · low 1 · info 0 (6 rows)" in html
    assert "risk_score" in risk_table(audit, Selection())._repr_html_()
    text = summary(audit)._repr_html_()
    assert "104" in text and "critical 3" in text and "input missing" not in text
