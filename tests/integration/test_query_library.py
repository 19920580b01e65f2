"""Every saved query on the demo lake: the exact rows it reports for the planted problems of
``sample_data/organisation.yaml``, and none for their near misses (see docs/queries.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from attestlake.audit.queries import run_query
from attestlake.audit.query_files import get_query, load_queries
from attestlake.demo.demo import DemoResult
from attestlake.errors import QueryError
from attestlake.lake.lake import Lake

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
Row = dict[str, Any]


@pytest.fixture(scope="module")
def lake(demo: DemoResult) -> Iterator[Lake]:
    with Lake.open(demo.lake) as opened:
        yield opened


def rows(lake: Lake, name: str, **params: str) -> list[Row]:
    return run_query(lake, get_query(name), params, now=NOW).rows


def keys(found: list[Row], *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in columns) for r in found]


def local_run_id(project: str, workflow: str, build: int) -> str:
    """The run id the demo gives a build made on a GENERIC runner (no CI job to derive it)."""
    return hashlib.sha256(f"{project}/{workflow}/{build}".encode()).hexdigest()[:32]


def test_every_saved_query_is_covered_here() -> None:
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert {q.name for q in load_queries()} <= tested


def test_trust_changes(lake: Lake) -> None:
    """The demo's lake was crawled under one policy: nothing changed (the near miss).
    tests/integration/test_reverify.py changes the policy and checks every row listed."""
    assert rows(lake, "trust_changes") == []
    assert rows(lake, "trust_changes", latest="false") == []


def test_non_compliant_workflows(lake: Lake) -> None:
    found = rows(lake, "non_compliant_workflows")
    assert keys(
        found,
        "workflow",
        "problem",
        "missing_material",
        "missing_annotation",
        "runner_type",
        "allowed_runner_types",
        "run_contract_revision",
        "latest_contract_revision",
    ) == [
        # kiosk-image stays on image-quick r1, built on a workstation that r2 no longer allows
        ("kiosk-image", "runner not allowed", None, None, "GENERIC", "GITHUB_ACTION", 1, 2),
        # login-ui-build fell back to container-build r1: no SBOM, no compliance-tier annotation
        (
            "login-ui-build",
            "missing annotation",
            None,
            "compliance-tier",
            "GITHUB_ACTION",
            None,
            1,
            2,
        ),
        ("login-ui-build", "missing material", "sbom", None, "GITHUB_ACTION", None, 1, 2),
    ]
    # Near misses: base-images' latest run ships no SBOM, which its contract makes optional;
    # api-build's workstation build is not its latest run (and container-build allows any
    # runner); terraform-modules is on an old revision that requires nothing more.
    assert {r["workflow"] for r in found} == {"kiosk-image", "login-ui-build"}


def test_non_compliant_workflows_over_every_run(lake: Lake) -> None:
    """runs = all judges each run against the newest revision known when it started (the
    latest against the newest known now): the history the audit notebook charts."""
    found = rows(lake, "non_compliant_workflows", runs="all")
    by_run = {(r["workflow"], r["run_id"]) for r in found}
    runs = lake.sql(
        "SELECT workflow, run_id, started_at FROM runs WHERE workflow IN "
        "('kiosk-image', 'login-ui-build') AND coalesce(status, 'success') = 'success' "
        "ORDER BY started_at"
    ).to_pylist()
    login = [r["run_id"] for r in runs if r["workflow"] == "login-ui-build"]
    # image-quick revision 2 (GitHub Actions only) was published 4 days ago: kiosk-image's
    # workstation runs since then, and its latest, break it; the earlier ones met revision 1.
    kiosk = [r for r in runs if r["workflow"] == "kiosk-image"]
    after = {r["run_id"] for r in kiosk if r["started_at"] >= NOW - timedelta(days=4)}
    assert 0 < len(after) < len(kiosk)
    assert by_run == {("login-ui-build", r) for r in login[-3:]} | {
        ("kiosk-image", r) for r in after | {kiosk[-1]["run_id"]}
    }
    # The latest runs' problems are exactly the default answer's.
    latest = rows(lake, "non_compliant_workflows")
    assert [
        r
        for r in found
        if (r["workflow"], r["run_id"]) in {(x["workflow"], x["run_id"]) for x in latest}
    ] == latest
    with pytest.raises(QueryError, match="runs must be latest or all"):
        rows(lake, "non_compliant_workflows", runs="some")


def test_missing_sbom_digests(lake: Lake) -> None:
    found = rows(lake, "missing_sbom_digests")
    assert sorted(set(keys(found, "workflow", "problem"))) == [
        ("base-images", "no SBOM in run"),
        ("login-ui-build", "no SBOM in run"),
        ("worker-build", "SBOM describes another digest"),
    ]
    per_workflow = {
        w: sum(r["workflow"] == w for r in found) for w in {r["workflow"] for r in found}
    }
    # base-images skips its optional SBOM every 4th run (3 of 12); login-ui's last 3 runs use
    # the old revision without SBOM; worker-build's run 10 attached run 9's SBOM.
    assert per_workflow == {"base-images": 3, "login-ui-build": 3, "worker-build": 1}
    stale = next(r for r in found if r["workflow"] == "worker-build")
    assert stale["sbom_main_digest"] != stale["image_digest"]
    previous = lake.sql(
        "SELECT m.digest FROM runs r JOIN materials m USING (manifest_digest) "
        "WHERE m.digest = $d AND m.type = 'CONTAINER_IMAGE' AND r.workflow = 'worker-build'",
        {"d": stale["sbom_main_digest"]},
    ).to_pylist()
    assert previous, "the stale SBOM describes the workflow's previous image"
    # Near miss: library releases' SBOMs describe a package, not an image: never judged.
    assert not {"ledger-release", "terraform-modules", "cli-release"} & set(per_workflow)
    since = rows(lake, "missing_sbom_digests", since=(NOW - timedelta(days=1)).date().isoformat())
    assert {r["workflow"] for r in since} <= {"base-images", "login-ui-build"}


def test_sbom_quality(lake: Lake) -> None:
    found = rows(lake, "sbom_quality")
    assert keys(found, "workflow", "component", "version", "purl", "missing", "sboms") == [
        ("ledger-release", "ledger-native", "0.9.1", None, "hashes and purl", 10),
        (
            "ledger-release",
            "ledger-xml",
            "1.2.0",
            "pkg:maven/com.cyberdyne/ledger-xml@1.2.0",
            "hashes",
            10,
        ),
        ("sso-build", "saml-bridge", "2.3.0", None, "purl", 12),  # a vendored jar
    ]
    # Near miss: the rogue-signed cli-release run's SBOM lists debug-shim with neither hash
    # nor purl, but nothing verified it.
    assert "debug-shim" not in {r["component"] for r in found}


def test_contract_drift(lake: Lake) -> None:
    found = rows(lake, "contract_drift")
    assert keys(
        found, "workflow", "contract_name", "run_contract_revision", "latest_contract_revision"
    ) == [
        ("terraform-modules", "library-release", 1, 2),  # pinned to revision 1
        ("kiosk-image", "image-quick", 1, 2),  # pinned to revision 1
        ("login-ui-build", "container-build", 1, 2),  # fell back to revision 1
    ]
    published = {r["workflow"]: r["latest_revision_since"] for r in found}
    assert published["kiosk-image"] == NOW - timedelta(days=4)  # its publication
    assert published["login-ui-build"] == NOW - timedelta(days=30)
    assert {r["workflow"]: r["runs_on_older_revisions"] for r in found}["login-ui-build"] == 3
    # Near misses: ledger-release last ran (on r1) 5 days ago, before r2 was published;
    # cli-release and base-images moved to r2 once it was out.
    assert not {"ledger-release", "cli-release", "base-images"} & set(published)


def test_stale_workflows(lake: Lake) -> None:
    found = rows(lake, "stale_workflows")
    assert keys(found, "workflow", "cadence", "last_event") == [("sso-build", "daily", "success")]
    assert NOW - found[0]["last_success_at"] > timedelta(days=5)
    assert found[0]["overdue_hours"] > 24 * 4
    # Near misses: ledger-release is weekly and last ran 5 days ago; cli-release is on-demand;
    # mobile-build never attested (never_integrated reports it).
    # Three days on with no new run, the daily workflows and the weekly ledger-release are due;
    # the other weekly ones ran in the last two days, and cli-release never is.
    later = rows(lake, "stale_workflows", checked_at="2026-11-23T12:00:00Z")
    assert [r["workflow"] for r in later] == [
        "ledger-release",
        "login-ui-build",
        "api-build",
        "worker-build",
        "sso-build",
    ]
    assert rows(lake, "stale_workflows", grace_hours="200") == []


def test_never_integrated(lake: Lake) -> None:
    found = rows(lake, "never_integrated")
    assert keys(found, "project", "workflow", "team", "owner", "cadence") == [
        ("mobile-app", "mobile-build", "identity", "miles.dyson@cyberdyne.example", "daily")
    ]
    assert found[0]["listed_since"] == NOW - timedelta(days=20)
    assert found[0]["unverified_envelopes"] == 0
    # Near miss: kiosk-image only ever attested from a workstation, but it did attest.


def test_verification_failures(lake: Lake) -> None:
    found = rows(lake, "verification_failures")
    assert sorted(keys(found, "reason", "project", "workflow", "signer"), key=str) == [
        ("bad_signature", "skynet-cli", "cli-release", "keys/ci.pub"),
        ("untrusted_signer", "ledger", "ledger-release", "keys/release.pub"),
        ("untrusted_signer", "skynet-cli", "cli-release", None),
    ]


def test_verification_failures_by_reason(lake: Lake) -> None:
    found = rows(lake, "verification_failures_by_reason")
    assert keys(found, "reason", "envelopes", "signers", "claimed_workflows") == [
        ("untrusted_signer", 2, 2, "ledger/ledger-release, skynet-cli/cli-release"),
        ("bad_signature", 1, 1, "skynet-cli/cli-release"),
    ]
    assert rows(lake, "verification_failures_by_reason", since="2026-11-21") == []


def test_impersonation(lake: Lake) -> None:
    found = rows(lake, "impersonation")
    assert keys(found, "project", "workflow", "signer", "signer_trusted_for") == [
        ("ledger", "ledger-release", "keys/release.pub", "skynet-cli/cli-release")
    ]
    assert "trusts only for projects skynet-cli" in found[0]["detail"]
    # Near miss: the rogue key that signed a cli-release run is nobody's identity (no signer):
    # verification_failures has it, this query does not.


def test_signer_changes(lake: Lake) -> None:
    found = rows(lake, "signer_changes")
    assert keys(found, "workflow", "previous_signer", "signer", "runs_by_previous_signer") == [
        ("cli-release", "keys/ci.pub", "keys/release.pub", 8)
    ]
    # Near misses: the rogue-signed and the tampered cli-release runs never verified, so they
    # are no signer of the workflow; every other workflow signs with keys/ci.pub throughout.


def test_shared_artifact_digests(lake: Lake) -> None:
    found = rows(lake, "shared_artifact_digests")
    assert keys(found, "workflow", "artifacts", "runs") == [
        ("base-images", "registry.cyberdyne.example/base-images", 1),  # built it first
        ("sso-build", "registry.cyberdyne.example/sso", 1),  # re-tagged and attested it
    ]
    assert found[0]["digest"] == found[1]["digest"]
    assert found[0]["started_at"] < found[1]["started_at"]
    # Near miss: sso-build's run 8 re-attests run 7's image (a re-run of the same workflow).
    rerun = lake.sql(
        "SELECT s.digest FROM subjects s JOIN runs r USING (manifest_digest, envelope_digest) "
        "WHERE r.workflow = 'sso-build' GROUP BY s.digest HAVING count(*) > 1"
    ).to_pylist()
    assert len(rerun) == 1 and rerun[0]["digest"] != found[0]["digest"]


def test_builds_outside_ci(lake: Lake) -> None:
    found = rows(lake, "builds_outside_ci")
    assert keys(found, "workflow", "run_id", "runner_type", "ci_runner_types", "ci_runs") == [
        ("api-build", local_run_id("payments-api", "api-build", 8), "GENERIC", "GITHUB_ACTION", 16)
    ]
    # Near miss: kiosk-image always builds on a workstation: it has no CI runs to compare.
    assert rows(lake, "builds_outside_ci", since=NOW.date().isoformat()) == []


def test_runner_changes(lake: Lake) -> None:
    found = rows(lake, "runner_changes")
    assert keys(found, "workflow", "change", "previous_runner", "runner") == [
        ("base-images", "hosting", "GITHUB_ACTION (github-hosted)", "GITHUB_ACTION (self-hosted)"),
        ("sso-build", "runner type", "GITHUB_ACTION (github-hosted)", "GITLAB_PIPELINE"),
    ]
    # Near miss: api-build's workstation build sits between two GitHub-hosted runs; it is a
    # build outside CI, not a runner change.
    assert "api-build" not in {r["workflow"] for r in found}


def test_failing_runs(lake: Lake) -> None:
    found = rows(lake, "failing_runs")
    assert keys(found, "workflow", "failed", "cancelled", "expired", "running", "last_reason") == [
        ("worker-build", 3, 1, 1, 0, "registry push timed out")
    ]
    worker = found[0]
    assert worker["failure_ratio"] == round(5 / (worker["succeeded"] + 5), 3) >= 0.2
    # Near misses: api-build failed once (ratio below 0.2) and has a run started an hour ago,
    # still running; worker-build's start 9 days ago with no end is outside the 7-day window.
    everything = rows(lake, "failing_runs", min_ratio="0")
    assert keys(everything, "workflow", "failed", "expired", "running") == [
        ("worker-build", 3, 1, 0),
        ("api-build", 1, 0, 1),
    ]
    longer = rows(lake, "failing_runs", since="10 days", expire_after="30 minutes", min_ratio="0")
    assert keys(longer, "workflow", "expired") == [("worker-build", 2), ("api-build", 1)]


def test_new_dependencies(lake: Lake) -> None:
    found = rows(lake, "new_dependencies")
    assert keys(found, "workflow", "component", "package", "versions") == [
        ("api-build", "orjson", "pkg:pypi/orjson", "3.10.7")
    ]
    assert NOW - found[0]["first_listed_at"] < timedelta(days=2)
    # Near misses: api-build bumped urllib3 to 2.2.3 at the same time (a new version, not a new
    # package); the rogue run's debug-shim is in no trusted SBOM.
    assert rows(lake, "new_dependencies", since="1 day") == []


def test_policy_violations(lake: Lake) -> None:
    found = rows(lake, "policy_violations")
    assert keys(
        found, "workflow", "contract_revision", "policy", "gate", "policy_severity", "violations"
    ) == [("sso-build", 2, "components_have_purls", False, "low", 1)]
    assert found[0]["violation"] == "1 SBOM component(s) without a purl, e.g. saml-bridge"
    latest = lake.sql(
        "SELECT arg_max(run_id, started_at) AS run_id FROM runs WHERE workflow = 'sso-build'"
    ).to_pylist()
    assert found[0]["run_id"] == latest[0]["run_id"]
    # Near misses: every earlier sso-build run recorded the same violation (only the latest
    # run is listed), and ledger-release's SBOMs lack a purl too, but its contract names no
    # attestlake policy: nothing was recorded at push.
    recorded = lake.sql(
        "SELECT workflow, count(DISTINCT run_id) AS runs FROM policy_violations GROUP BY ALL"
    ).to_pylist()
    assert recorded == [{"workflow": "sso-build", "runs": 12}]


def test_component_search(lake: Lake) -> None:
    vulnerable = rows(lake, "component_search", package="log4j-core", version_max="2.17.0")
    assert (
        keys(vulnerable, "workflow", "component", "version")
        == [("ledger-release", "log4j-core", "2.14.1")] * 4
    )  # ledger-release's first 4 runs, one artifact each
    assert all(r["artifact_digest"].startswith("sha256:") for r in vulnerable)
    assert {r["signer"] for r in vulnerable} == {"keys/ci.pub"}
    # Near misses: log4j-api (another package) in the same SBOMs, 2.17.1 (out of range), and
    # the impersonating ledger run's SBOM (never verified).
    everyone = rows(
        lake, "component_search", package="pkg:maven/org.apache.logging.log4j/log4j-core"
    )
    assert {(r["workflow"], r["version"]) for r in everyone} == {
        ("ledger-release", "2.14.1"),
        ("ledger-release", "2.17.1"),
        ("sso-build", "2.17.1"),
    }
    assert len(everyone) == 10 + 12
    pattern = rows(
        lake, "component_search", package="pkg:maven/org.apache.logging.log4j/%", version_min="2.15"
    )
    assert {(r["component"], r["version"]) for r in pattern} == {
        ("log4j-api", "2.17.1"),
        ("log4j-core", "2.17.1"),
    }
    go = rows(lake, "component_search", package="cobra", version_min="1.8", version_max="1.8.1")
    assert {r["version"] for r in go} == {"v1.8.1"} and len(go) == 10  # 'v' prefix, verified runs


def test_slsa_build_levels(lake: Lake) -> None:
    found = rows(lake, "slsa_build_levels")
    assert keys(found, "slsa_build_level", "workflow") == [
        (0, "mobile-build"),
        (1, "base-images"),
        (1, "kiosk-image"),
    ]
    reasons = {r["workflow"]: r["reason"] for r in found}
    assert reasons["mobile-build"] == "no attestation at all"
    assert "self-hosted GITHUB_ACTION runner" in reasons["base-images"]
    assert "GENERIC runner" in reasons["kiosk-image"]
    every = {
        r["workflow"]: r["slsa_build_level"]
        for r in rows(lake, "slsa_build_levels", target_level="4")
    }
    # Near miss: api-build once built on a workstation, but its latest run is GitHub-hosted.
    assert every["api-build"] == 2 and len(every) == 10
    assert set(every.values()) == {0, 1, 2}
