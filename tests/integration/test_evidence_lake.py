"""What evidence files say, across a crawled lake: runs pushed to a real registry without the
policies are crawled, and ``policy eval`` finds the runs that would fail each new policy; the
tables survive ``reverify`` row for row and pass ``lake check``. Signed runs naming hostile
files (billion laughs, a million SARIF results) crawl into bounded rows and problem rows that
the policies report, the other runs untouched; a run statement first crawled without its
files gets their rows, once, when the manifest carrying them is crawled."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.crawl.crawl import crawl
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests import assets
from tests.integration.cli_helpers import GITHUB_ENV, run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_crawl_store import (
    NOW,
    assert_no_duplicate_keys,
    make_signer,
    push,
    run_statement,
)
from tests.integration.test_evidence_policies_at_push import (
    CODEQL_CLEAN,
    CODEQL_ERROR,
    PYTEST_FAILED,
    PYTEST_PASSED,
    TRIVY,
    VEX_CLEARS,
    contract,
)
from tests.integration.test_policies_at_push import IMAGE
from tests.lakefactory import raw_lake
from tests.unit.test_normalize_evidence import BILLION_LAUGHS

EVIDENCE_TABLES = ("sarif_results", "junit_cases", "vex_statements")
NEW_POLICIES = ("sarif_no_errors", "junit_no_failures", "vulnerabilities_not_cleared")


def push_run(tmp: Path, target: str, project: str, files: dict[str, str]) -> str:
    """One run of ``project`` (no policies in its contract) pushed to ``target``; its run id."""
    env = {**GITHUB_ENV, "GITHUB_ACTIONS": "false"}
    args = ("--workflow", "build", "--project", project, "--team", "web")
    assert run_cli(tmp, "attest", "init", "--contract", "contract.yaml", *args, env=env).code == 0
    assert run_cli(tmp, "attest", "add", "--name", "image", "--value", IMAGE, env=env).code == 0
    for name, asset in files.items():
        (tmp / name).write_bytes(assets.path(asset).read_bytes())
        added = run_cli(tmp, "attest", "add", "--name", name, "--value", name, env=env)
        assert added.code == 0, added.err
    pushed = run_cli(tmp, "attest", "push", "--key", "ci.key", "--to", target, env=env)
    assert pushed.code == 0, pushed.err
    state = json.loads((tmp / ".attestlake" / "attestation.json").read_text())
    return str(state["runId"])


def _table(lake: Path, name: str) -> list[dict[str, Any]]:
    with open_lake(lake) as opened:
        rows: list[dict[str, Any]] = opened.sql(
            f"SELECT * EXCLUDE (crawl_id, crawl_batch) FROM {name} ORDER BY ALL"
        ).to_pylist()
    return rows


@pytest.mark.registry
def test_policy_eval_finds_who_would_fail_the_new_policies_in_a_crawled_registry(
    tmp_path: Path, registry: RegistryServer
) -> None:
    (tmp_path / "contract.yaml").write_text(contract(""))
    assert run_cli(tmp_path, "keys", "generate", "--out", "ci").code == 0
    (tmp_path / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    target = f"{registry.host}/evidence-policies/attestations"
    clean = push_run(tmp_path, target, "clean", {
        "scan": TRIVY, "tests": PYTEST_PASSED, "vex": VEX_CLEARS,
    })  # fmt: skip
    failing = push_run(tmp_path, target, "failing", {"scan": CODEQL_ERROR, "tests": PYTEST_FAILED})
    unvexed = push_run(tmp_path, target, "unvexed", {"scan": TRIVY})
    quiet = push_run(tmp_path, target, "quiet", {"scan": CODEQL_CLEAN})
    crawled = run_cli(
        tmp_path, "crawl", "--from", target, "--lake", "lake", "--trust", "trust.yaml"
    )
    assert crawled.code == 0, crawled.err
    lake = tmp_path / "lake"
    with open_lake(lake) as opened:
        per_run = opened.sql(
            "SELECT r.project, count(DISTINCT s.position) AS results, count(DISTINCT j.position) "
            "AS cases, count(DISTINCT v.position) AS statements FROM runs AS r "
            "LEFT JOIN sarif_results AS s USING (manifest_digest, envelope_digest) "
            "LEFT JOIN junit_cases AS j USING (manifest_digest, envelope_digest) "
            "LEFT JOIN vex_statements AS v USING (manifest_digest, envelope_digest) "
            "GROUP BY ALL ORDER BY ALL"
        ).to_pylist()
    assert per_run == [
        {"project": "clean", "results": 3, "cases": 4, "statements": 2},
        {"project": "failing", "results": 2, "cases": 5, "statements": 0},
        {"project": "quiet", "results": 2, "cases": 0, "statements": 0},
        {"project": "unvexed", "results": 3, "cases": 0, "statements": 0},
    ]
    expected = {
        "sarif_no_errors": {failing, unvexed, clean},  # Trivy's HIGH findings are errors
        "junit_no_failures": {failing},
        "vulnerabilities_not_cleared": {unvexed},
        "images_by_digest": set(),
    }
    for policy, runs in expected.items():
        out = run_cli(
            tmp_path, "policy", "eval", "--lake", "lake", "--policy", policy, "-f", "json"
        )
        assert out.code == (3 if runs else 0), (policy, out.out, out.err)
        (result,) = out.json()
        assert set(result["runs"]) == runs, policy
    assert quiet not in expected["sarif_no_errors"]
    # The whole library, unasked: the new gating policies are among those run by default.
    every = run_cli(tmp_path, "policy", "eval", "--lake", "lake", "-f", "json")
    assert {r["policy"] for r in every.json()} >= {*NEW_POLICIES, "images_by_digest"}
    before = {t: _table(lake, t) for t in EVIDENCE_TABLES}
    # A re-evaluation under another trust policy rebuilds them from the kept bytes, the same.
    assert run_cli(tmp_path, "keys", "generate", "--out", "other").code == 0
    (tmp_path / "both.yaml").write_text("keys:\n  - path: ci.pub\n  - path: other.pub\n")
    again = run_cli(tmp_path, "reverify", "--lake", "lake", "--trust", "both.yaml")
    assert again.code == 0, again.out + again.err
    assert {t: _table(lake, t) for t in EVIDENCE_TABLES} == before
    # Under a policy that trusts no key of the CI, none of it is trusted any more.
    (tmp_path / "other.yaml").write_text("keys:\n  - path: other.pub\n")
    assert run_cli(tmp_path, "reverify", "--lake", "lake", "--trust", "other.yaml").code == 0
    assert {t: _table(lake, t) for t in EVIDENCE_TABLES} == {t: [] for t in EVIDENCE_TABLES}
    check = run_cli(tmp_path, "lake", "check", "--lake", "lake")
    assert check.code == 0, check.out + check.err


def test_images_by_digest_finds_images_named_by_tag_or_another_digest(tmp_path: Path) -> None:
    def run(n: int, value: str, digest: str | None) -> dict[str, dict[str, Any]]:
        where = {"manifest_digest": f"sha256:{n:064x}", "run_id": f"run-{n}"}
        return {
            "runs": {**where, "envelope_digest": f"sha256:{n + 100:064x}", "project": "p",
                     "workflow": f"w{n}", "status": "success", "run_date": "2026-11-01"},
            "materials": {**where, "name": "image", "type": "CONTAINER_IMAGE", "value": value,
                          "digest": digest, "output": True, "run_date": "2026-11-01"},
        }  # fmt: skip

    good = "sha256:" + "a" * 64
    runs = [
        run(1, f"ghcr.io/acme/app:1.0@{good}", good),
        run(2, "ghcr.io/acme/app:1.0", None),  # a Chainloop image material without a digest
        run(3, f"ghcr.io/acme/app@{good}", "sha256:" + "b" * 64),
    ]
    raw_lake(tmp_path / "lake", {t: [r[t] for r in runs] for t in ("runs", "materials")})
    out = run_cli(
        tmp_path, "policy", "eval", "--lake", "lake", "--policy", "images_by_digest", "-f", "json"
    )
    assert out.code == 3, out.err
    (result,) = out.json()
    assert [(r["run_id"], r["violation"]) for r in result["rows"]] == [
        ("run-2", "image ghcr.io/acme/app:1.0 is named by tag only, not by digest"),
        (
            "run-3",
            f"image ghcr.io/acme/app@{good} names another digest than the "
            f"sha256:{'b' * 64} the run records",
        ),
    ]


# -- signed runs naming hostile files, crawled ---------------------------------------------------
def with_evidence(n: int, files: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    """Run ``n``'s statement, naming ``files`` (material name, kind, bytes) by digest."""
    statement = run_statement(n)
    statement["predicate"]["materials"] += [
        {"name": name, "type": kind, "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
        for name, kind, data in files
    ]
    return statement


MILLION = (
    b'{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"flood"}},"results":['
    + b",".join([b'{"ruleId":"R","level":"error"}'] * 1_000_000)
    + b"]}]}"
)


def test_hostile_evidence_crawls_into_bounded_and_problem_rows_the_policies_report(
    tmp_path: Path,
) -> None:
    signer = make_signer(tmp_path / "keys")
    store = LayoutStore(tmp_path / "store")
    good = assets.path(PYTEST_PASSED).read_bytes()
    runs = {
        1: [("tests", "JUNIT_XML", good)],
        2: [("tests", "JUNIT_XML", BILLION_LAUGHS)],
        3: [("scan", "SARIF", MILLION)],
    }
    media = {"JUNIT_XML": "application/xml", "SARIF": "application/sarif+json"}
    for n, files in runs.items():
        push(
            store,
            [(ENVELOPE_MEDIA_TYPE, signer.envelope(with_evidence(n, files)))],
            tag=f"run-{n}",
            evidence=[(media[kind], data) for _, kind, data in files],
        )
    result = crawl(store, tmp_path / "lake", load_policy(signer.trust), now=NOW)
    assert (result.verified, result.not_verified) == (3, 0)
    lake = tmp_path / "lake"
    with open_lake(lake) as opened:
        cases = opened.sql(
            "SELECT run_id, status, problem FROM junit_cases ORDER BY run_id, position"
        ).to_pylist()
        flood = opened.sql(
            "SELECT count(*) AS n, count(problem) AS problems, max(position) AS last "
            "FROM sarif_results WHERE run_id = 'run-3'"
        ).to_pylist()
    assert cases[:4] == [{"run_id": "run-1", "status": s, "problem": None} for s in (
        "passed", "passed", "skipped", "passed")]  # fmt: skip
    assert cases[4:] == [
        {
            "run_id": "run-2",
            "status": None,
            "problem": "not read as a JUnit XML report: JUnit XML report: declares a DTD or an "
            "entity (DTDForbidden), which is refused",
        }
    ]
    assert flood == [{"n": 100_001, "problems": 1, "last": 99_999}]
    junit = run_cli(
        tmp_path, "policy", "eval", "--lake", "lake", "--policy", "junit_no_failures", "-f", "json"
    )
    (found,) = junit.json()
    assert [(r["run_id"], r["violation"]) for r in found["rows"]] == [
        ("run-2", "JUnit material tests: " + cases[4]["problem"])
    ]
    sarif = run_cli(
        tmp_path, "policy", "eval", "--lake", "lake", "--policy", "sarif_no_errors", "-f", "json"
    )
    (found,) = sarif.json()
    assert [r["violation"] for r in found["rows"]] == [
        "100000 SARIF result(s) at level error (at most 0 allowed), e.g. R",
        "SARIF material scan: only the first 100000 rows of this SARIF log are kept; the rest "
        "is not read",
    ]
    assert_no_duplicate_keys(lake)
    assert run_cli(tmp_path, "lake", "check", "--lake", "lake").code == 0


def test_files_of_a_statement_first_crawled_without_them_arrive_once_with_its_rows(
    tmp_path: Path,
) -> None:
    signer = make_signer(tmp_path / "keys")
    store = LayoutStore(tmp_path / "store")
    scan = assets.path(TRIVY).read_bytes()
    envelope = signer.envelope(with_evidence(7, [("scan", "SARIF", scan)]))
    referrer = push(store, [(ENVELOPE_MEDIA_TYPE, envelope)], tag="copy")  # no files
    policy = load_policy(signer.trust)
    crawl(store, tmp_path / "lake", policy, now=NOW)
    lake = tmp_path / "lake"
    assert _table(lake, "sarif_results") == []
    home = push(
        store,
        [(ENVELOPE_MEDIA_TYPE, envelope)],
        tag="run-7",
        evidence=[("application/sarif+json", scan)],
    )
    crawl(store, lake, policy, now=NOW)
    rows = _table(lake, "sarif_results")
    assert [(r["position"], r["vulnerability_id"]) for r in rows] == [
        (0, "CVE-2023-44487"),
        (1, "GHSA-m425-mq94-257g"),
        (2, "CVE-2023-39326"),
    ]
    (run,) = _table(lake, "runs")
    assert {r["manifest_digest"] for r in rows} == {run["manifest_digest"]} == {referrer.digest}
    (source,) = {r["source"] for r in rows}  # read from the manifest that carries the file
    assert source.endswith(":run-7") and home.digest != referrer.digest
    crawl(store, lake, policy, now=NOW)  # again: nothing new
    assert _table(lake, "sarif_results") == rows
    assert_no_duplicate_keys(lake)
