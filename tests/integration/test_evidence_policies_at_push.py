"""The policies over what evidence files say (``sarif_no_errors``, ``junit_no_failures``,
``images_by_digest``, ``vulnerabilities_not_cleared``), evaluated at ``attest push`` on real
tools' files: each passes one run and refuses another with nothing signed or written, OpenVEX
statements of the run clear a vulnerability only as OpenVEX says, and the rows the crawler
later writes are those the policies read at push."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestlake import open_lake
from tests import assets
from tests.integration.cli_helpers import GITHUB_ENV, Result, run_cli
from tests.integration.test_policies_at_push import IMAGE, nothing_written, only, recorded

TRIVY = "sarif/trivy-two-high-one-medium-vulnerabilities.json"
CODEQL_ERROR = "sarif/codeql-python-sql-injection-error-and-unused-import-note.json"
CODEQL_CLEAN = "sarif/codeql-python-warning-and-note.json"
PYTEST_FAILED = "junit/pytest-failure-error-skipped.xml"
PYTEST_PASSED = "junit/pytest-three-passed-one-skipped.xml"
VEX_CLEARS = "openvex/vexctl-clears-rapid-reset-and-grpc.json"
VEX_UNJUSTIFIED = "openvex/vexctl-rapid-reset-not-affected-without-justification.json"
VEX_LATER_AFFECTED = "openvex/vexctl-rapid-reset-not-affected-then-affected.json"
VEX_UNKNOWN = "openvex/rapid-reset-unknown-status-wont-fix.json"
LIBRARY = Path(__file__).resolve().parents[2] / "policies"
REFUSED_ENV = {**GITHUB_ENV, "GITHUB_ACTIONS": "false"}


def contract(policies: str) -> str:
    entries = policies or "    []\n"
    return f"""apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: app-build
spec:
  materials:
    - {{type: CONTAINER_IMAGE, name: image, output: true}}
    - {{type: SARIF, name: scan, optional: true}}
    - {{type: JUNIT_XML, name: tests, optional: true}}
    - {{type: OPENVEX, name: vex, optional: true}}
  policies:
{entries}"""


def attest(
    tmp: Path, policies: str, files: dict[str, str], *, env: dict[str, str] | None = None
) -> Result:
    """init (a contract naming ``policies``), add the image and ``files`` (material name ->
    asset), push to oci:store."""
    env = env or GITHUB_ENV
    (tmp / "contract.yaml").write_text(contract(policies))
    if not (tmp / "ci.key").exists():
        assert run_cli(tmp, "keys", "generate", "--out", "ci").code == 0
        (tmp / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    init = run_cli(
        tmp, "attest", "init", "--contract", "contract.yaml", "--workflow", "build",
        "--project", "app", "--team", "web", env=env,
    )  # fmt: skip
    assert init.code == 0, init.err
    assert run_cli(tmp, "attest", "add", "--name", "image", "--value", IMAGE, env=env).code == 0
    for name, asset in files.items():
        local = tmp / Path(asset).name
        local.write_bytes(assets.path(asset).read_bytes())
        added = run_cli(tmp, "attest", "add", "--name", name, "--value", local.name, env=env)
        assert added.code == 0, added.err
    return run_cli(
        tmp, "attest", "push", "--key", "ci.key", "--to", "oci:store", "--bundle-out",
        "run.json", env=env,
    )  # fmt: skip


def entry(name: str, params: str) -> str:
    return f"    - policy: {name}\n" + (f"      with:\n        {params}\n" if params else "")


PASSING = [
    ("sarif_no_errors", {"scan": CODEQL_CLEAN}, ""),
    ("sarif_no_errors", {"scan": CODEQL_ERROR}, "max_errors: '1'"),
    ("junit_no_failures", {"tests": PYTEST_PASSED}, ""),
    ("images_by_digest", {}, ""),
    ("vulnerabilities_not_cleared", {"scan": TRIVY, "vex": VEX_CLEARS}, ""),
    ("vulnerabilities_not_cleared", {"scan": CODEQL_ERROR}, ""),  # no vulnerability found
]


@pytest.mark.parametrize(
    ("name", "files", "params"), PASSING, ids=[f"{p[0]}-{'-'.join(p[1].values())}" for p in PASSING]
)
def test_a_run_whose_files_meet_the_policy_is_pushed_with_it_recorded_as_passed(
    tmp_path: Path, name: str, files: dict[str, str], params: str
) -> None:
    pushed = attest(tmp_path, entry(name, params), files)
    assert pushed.code == 0, pushed.err
    evaluation = only(recorded(tmp_path))
    assert (evaluation["name"], evaluation["status"], evaluation["gate"]) == (name, "passed", True)
    assert evaluation["violations"] == [] and evaluation["violationCount"] == 0


GATED = [
    (
        "sarif_no_errors",
        {"scan": CODEQL_ERROR},
        "",
        ["1 SARIF result(s) at level error (at most 0 allowed), e.g. py/sql-injection at "
         "app/db.py:42: This SQL query depends on a [user-provided value](1)."],
    ),
    (
        "sarif_no_errors",
        {"scan": CODEQL_CLEAN},
        "levels: error, warning",
        ["1 SARIF result(s) at level error or warning (at most 0 allowed), e.g. "
         "py/empty-except at app/api.py:17:"],
    ),
    (
        "junit_no_failures",
        {"tests": PYTEST_FAILED},
        "",
        ["test tests.test_api.test_logout failed (suite pytest): AssertionError: assert 401 == 200",
         "test tests.test_db.test_migrations ended in an error (suite pytest): failed on setup "
         'with "sqlalchemy.exc.OperationalError: could not connect to server"'],
    ),
    (
        "vulnerabilities_not_cleared",
        {"scan": TRIVY},
        "",
        ["CVE-2023-44487 (1 error result(s) in scan) is not cleared: no OpenVEX statement of "
         "the run names it",
         "GHSA-M425-MQ94-257G (1 error result(s) in scan) is not cleared: no OpenVEX statement "
         "of the run names it"],
    ),
    (
        "vulnerabilities_not_cleared",
        {"scan": TRIVY, "vex": VEX_UNJUSTIFIED},
        "",
        ["CVE-2023-44487 (1 error result(s) in scan) is not cleared: the run's last OpenVEX "
         "statement on it says not_affected without a justification"],
    ),
    (
        "vulnerabilities_not_cleared",
        {"scan": TRIVY, "vex": VEX_LATER_AFFECTED},
        "",
        ["CVE-2023-44487 (1 error result(s) in scan) is not cleared: the run's last OpenVEX "
         "statement on it says affected"],
    ),
    (
        "vulnerabilities_not_cleared",
        {"scan": TRIVY, "vex": VEX_UNKNOWN},
        "",
        ["CVE-2023-44487 (1 error result(s) in scan) is not cleared: the run's last OpenVEX "
         "statement on it has no OpenVEX status"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "files", "params", "violations"),
    GATED,
    ids=[f"{g[0]}-{'-'.join(g[1].values())}" for g in GATED],
)
def test_a_run_whose_files_violate_the_policy_is_refused_and_nothing_is_written(
    tmp_path: Path, name: str, files: dict[str, str], params: str, violations: list[str]
) -> None:
    refused = attest(tmp_path, entry(name, params), files, env=REFUSED_ENV)
    assert refused.code == 3, (refused.out, refused.err)
    assert f"gating policy {name} violated; nothing was signed or pushed" in refused.err
    shown = [line for line in refused.err.splitlines() if line.startswith(f"  policy {name}: ")]
    assert len(shown) == len(violations), refused.err
    for line, violation in zip(shown, violations, strict=True):
        assert line.startswith(f"  policy {name}: {violation}")
    assert "Traceback" not in refused.err
    nothing_written(tmp_path)


def test_a_policy_reading_files_the_run_lacks_is_skipped_saying_so(tmp_path: Path) -> None:
    policies = "    - sarif_no_errors\n    - junit_no_failures\n    - vulnerabilities_not_cleared\n"
    pushed = attest(tmp_path, policies, {})
    assert pushed.code == 0, pushed.err
    by_name = {e["name"]: (e["status"], e.get("skipped")) for e in recorded(tmp_path)}
    assert by_name == {
        "sarif_no_errors": ("skipped", "the run has no SARIF material"),
        "junit_no_failures": ("skipped", "the run has no JUNIT_XML material"),
        "vulnerabilities_not_cleared": ("skipped", "the run has no SARIF material"),
    }


def test_a_bad_parameter_value_stops_the_push_naming_it(tmp_path: Path) -> None:
    refused = attest(tmp_path, entry("sarif_no_errors", "max_errors: some"), {"scan": CODEQL_CLEAN})
    assert refused.code == 1, refused.err
    assert "bad value for parameter max_errors='some'" in refused.err
    assert "must be a whole number, 0 or more, not 'some'" in refused.err
    nothing_written(tmp_path)


def test_the_lake_holds_the_rows_the_policies_read_at_push(tmp_path: Path) -> None:
    """A non-gating copy of a policy records its violations at push; the crawled lake's rows
    make ``policy eval`` find exactly the same."""
    own = (LIBRARY / "vulnerabilities_not_cleared.sql").read_text()
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "vulns.sql").write_text(own.replace("-- gate: true", "-- gate: false"))
    files = {"scan": TRIVY, "tests": PYTEST_FAILED, "vex": VEX_UNJUSTIFIED}
    pushed = attest(tmp_path, "    - checks/vulns.sql\n", files)
    assert pushed.code == 0, pushed.err
    at_push = only(recorded(tmp_path))
    assert at_push["status"] == "violated" and at_push["violationCount"] == 1
    crawled = run_cli(
        tmp_path, "crawl", "--from", "oci:store", "--lake", "lake", "--trust", "trust.yaml"
    )
    assert crawled.code == 0, crawled.err
    evaluated = run_cli(
        tmp_path, "policy", "eval", "--lake", "lake", "--policy", "checks/vulns.sql", "-f", "json"
    )
    assert evaluated.code == 0, evaluated.err  # it does not gate
    (result,) = evaluated.json()
    assert [r["violation"] for r in result["rows"]] == at_push["violations"]
    with open_lake(tmp_path / "lake") as lake:
        counts = lake.sql(
            "SELECT (SELECT count(*) FROM sarif_results) AS s, (SELECT count(*) FROM junit_cases)"
            " AS j, (SELECT count(*) FROM vex_statements) AS v"
        ).to_pylist()
    assert counts == [{"s": 3, "j": 5, "v": 2}]
