"""Policies a contract names, evaluated at ``attest push`` on the run's real materials: each
library policy that reads run materials passes one run and is violated by another; a violated
gating policy refuses the push with nothing signed or written; a violation that does not gate
is recorded and the push goes on; after a crawl the lake's ``policy_evaluations`` and
``policy_violations`` are exactly what the signed statement recorded, from verified statements
only."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from tests import assets
from tests.integration.cli_helpers import GITHUB_ENV, Result, run_cli

IMAGE = "registry.example.com/cyberdyne/app@sha256:" + "f" * 64
#: The SBOM whose main component states IMAGE's digest; its components have no purls.
COVERING = "sboms/cyclonedx-app-with-hashes.json"
#: Components with purls, no licences, no main component digest.
DEBIAN = "sboms/cyclonedx-two-debian-libs.json"
GPL = "sboms/cyclonedx-readline-gpl-3-and-zlib.json"
MIT = "sboms/cyclonedx-1.6-nested-component-licensed.json"
STATE = Path(".attestlake/attestation.json")


def contract(policies: str, *, sbom_optional: bool = True) -> str:
    return f"""apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: app-build
spec:
  materials:
    - type: CONTAINER_IMAGE
      name: image
      output: true
    - type: SBOM_CYCLONEDX_JSON
      name: sbom
      optional: {"true" if sbom_optional else "false"}
  policies:
{policies}
"""


def begin(tmp: Path, policies: str, env: dict[str, str] | None = None) -> Result:
    """A workspace with a CI key and the contract, and ``attest init`` run."""
    (tmp / "contract.yaml").write_text(contract(policies))
    if not (tmp / "ci.key").exists():
        assert run_cli(tmp, "keys", "generate", "--out", "ci").code == 0
        (tmp / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    return run_cli(
        tmp, "attest", "init", "--contract", "contract.yaml", "--workflow", "build",
        "--project", "app", "--team", "web", env=env or GITHUB_ENV,
    )  # fmt: skip


def attest(
    tmp: Path,
    policies: str,
    sbom: str | None,
    *push: str,
    image: str = IMAGE,
    env: dict[str, str] | None = None,
) -> Result:
    """init (contract with ``policies``), add the image and the SBOM asset, push to oci:store."""
    env = env or GITHUB_ENV
    init = begin(tmp, policies, env)
    assert init.code == 0, init.err
    assert run_cli(tmp, "attest", "add", "--name", "image", "--value", image, env=env).code == 0
    if sbom is not None:
        (tmp / "sbom.json").write_bytes(assets.path(sbom).read_bytes())
        added = run_cli(tmp, "attest", "add", "--name", "sbom", "--value", "sbom.json", env=env)
        assert added.code == 0, added.err
    return run_cli(
        tmp, "attest", "push", "--key", "ci.key", "--to", "oci:store",
        "--bundle-out", "run.json", *push, env=env,
    )  # fmt: skip


def recorded(tmp: Path) -> list[dict[str, Any]]:
    """The ``policyEvaluations`` of the signed run statement the push wrote."""
    envelope = json.loads((tmp / "run.json").read_bytes())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    evaluations: list[dict[str, Any]] = statement["predicate"]["policyEvaluations"]
    return evaluations


def nothing_written(tmp: Path) -> None:
    """Nothing signed or written: no store, no bundle, and the state says not pushed."""
    assert not (tmp / "store").exists()
    assert not (tmp / "run.json").exists()
    assert json.loads((tmp / STATE).read_text())["pushed"] is None


def only(evaluations: list[dict[str, Any]]) -> dict[str, Any]:
    (evaluation,) = evaluations
    return evaluation


# -- each library policy on a run that passes it and a run that violates it ----------------------
PASSING = [
    ("sbom_covers_image", COVERING, ""),
    ("denied_licences", MIT, ""),
    ("components_have_purls", DEBIAN, ""),
    ("images_from_allowed_registries", None, "allowed: ghcr.io, registry.example.com"),
    ("provenance_builder_allowed", None, ""),
]


@pytest.mark.parametrize(("name", "sbom", "params"), PASSING, ids=[p[0] for p in PASSING])
def test_a_run_that_meets_the_policy_is_pushed_with_it_recorded_as_passed(
    tmp_path: Path, name: str, sbom: str | None, params: str
) -> None:
    entry = f"    - policy: {name}\n" + (f"      with:\n        {params}\n" if params else "")
    pushed = attest(tmp_path, entry, sbom)
    assert pushed.code == 0, pushed.err
    evaluation = only(recorded(tmp_path))
    policy = Path(__file__).resolve().parents[2] / "policies" / f"{name}.sql"
    assert evaluation["name"] == name and evaluation["status"] == "passed"
    assert evaluation["violations"] == [] and evaluation["violationCount"] == 0
    assert evaluation["digest"]["sha256"] == _sha256(policy.read_bytes())
    assert f"policy {name} (" in pushed.out and ": passed" in pushed.out
    assert "warning" not in pushed.err


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


GATED = [
    ("sbom_covers_image", DEBIAN, "", "no SBOM of the run states the image digest sha256:ff"),
    ("sbom_covers_image", None, "", "no SBOM material in the run"),
    ("denied_licences", GPL, "", "component libreadline8 8.2-1.3 is under GPL-3.0-or-later"),
    (
        "images_from_allowed_registries",
        None,
        "allowed: ghcr.io",
        "image from registry.example.com, not an allowed registry",
    ),
]


@pytest.mark.parametrize(
    ("name", "sbom", "params", "violation"), GATED, ids=[f"{g[0]}-{g[1]}" for g in GATED]
)
def test_a_run_that_violates_a_gating_policy_is_refused_and_nothing_is_written(
    tmp_path: Path, name: str, sbom: str | None, params: str, violation: str
) -> None:
    entry = f"    - policy: {name}\n" + (f"      with:\n        {params}\n" if params else "")
    refused = attest(tmp_path, entry, sbom, env={**GITHUB_ENV, "GITHUB_ACTIONS": "false"})
    assert refused.code == 3, (refused.out, refused.err)
    assert f"gating policy {name} violated; nothing was signed or pushed" in refused.err
    assert f"policy {name}: {violation}" in refused.err
    assert "Traceback" not in refused.err
    nothing_written(tmp_path)


NOT_GATING = [
    ("components_have_purls", COVERING, "", "3 SBOM component(s) without a purl, e.g. a"),
    (
        "provenance_builder_allowed",
        None,
        "builders: https://gitlab.cyberdyne.example/",
        "provenance from builder https://github.com/",
    ),
]


@pytest.mark.parametrize(
    ("name", "sbom", "params", "violation"), NOT_GATING, ids=[n[0] for n in NOT_GATING]
)
def test_a_violated_policy_that_does_not_gate_is_recorded_and_the_push_goes_on(
    tmp_path: Path, name: str, sbom: str | None, params: str, violation: str
) -> None:
    entry = f"    - policy: {name}\n" + (f"      with:\n        {params}\n" if params else "")
    pushed = attest(tmp_path, entry, sbom)
    assert pushed.code == 0, pushed.err
    evaluation = only(recorded(tmp_path))
    assert evaluation["status"] == "violated" and evaluation["gate"] is False
    assert evaluation["violationCount"] == 1
    assert evaluation["violations"][0].startswith(violation)
    assert f"warning: policy {name}: {violation}" in pushed.err
    assert f"::warning title=attestlake::policy {name}: {violation}" in pushed.out
    assert pushed.out.startswith("pushed oci:store:run-")


def test_a_policy_whose_inputs_are_absent_is_recorded_as_skipped_with_why(tmp_path: Path) -> None:
    policies = "    - denied_licences\n    - provenance_builder_allowed\n"
    pushed = attest(tmp_path, policies, None, "--no-provenance")
    assert pushed.code == 0, pushed.err
    by_name = {e["name"]: e for e in recorded(tmp_path)}
    assert by_name["denied_licences"]["status"] == "skipped"
    assert by_name["denied_licences"]["skipped"] == (
        "the run has no SBOM_CYCLONEDX_JSON or SBOM_SPDX_JSON material"
    )
    assert by_name["provenance_builder_allowed"]["skipped"] == (
        "the run has no SLSA provenance (the run has no outputs, or was pushed --no-provenance)"
    )
    assert "policy denied_licences (gating): skipped (the run has no" in pushed.out


# -- the CI summary of a refused push ------------------------------------------------------------
def test_a_refused_push_writes_the_violations_to_the_ci_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {**GITHUB_ENV, "GITHUB_STEP_SUMMARY": str(summary)}
    refused = attest(tmp_path, "    - denied_licences\n    - components_have_purls\n", GPL, env=env)
    assert refused.code == 3
    text = summary.read_text()
    assert "refused by gating policy denied_licences, nothing pushed" in text
    assert "| denied_licences | yes | ❌ violated | 1 |" in text
    assert "| components_have_purls | no | ✅ passed | 0 |" in text
    assert "- policy denied_licences: component libreadline8 8.2-1.3 is under GPL-3.0-or-later" in (
        text
    )
    assert (
        "::error title=attestlake%3A contract app-build::policy denied_licences: component "
        "libreadline8 8.2-1.3 is under GPL-3.0-or-later"
    ) in refused.out
    nothing_written(tmp_path)


# -- the lake holds what the statement recorded -----------------------------------------------------
def _lake_rows(lake: Path, table: str, order: str) -> list[dict[str, Any]]:
    with open_lake(lake) as opened:
        rows: list[dict[str, Any]] = opened.sql(
            f"SELECT * EXCLUDE (crawl_id, crawl_batch) FROM {table} ORDER BY {order}"
        ).to_pylist()
    return rows


def test_the_lake_holds_exactly_what_the_signed_statement_recorded(tmp_path: Path) -> None:
    policies = (
        "    - components_have_purls\n"
        "    - policy: denied_licences\n"
        "      with:\n"
        "        deny: Zlib,GPL-3.0-or-later\n"
        "    - provenance_builder_allowed\n"
    )
    # denied_licences gates: with the default deny list the GPL SBOM would be refused; its
    # own list denies Zlib, which only the GPL SBOM has. The run carries the Debian SBOM.
    pushed = attest(tmp_path, policies, DEBIAN, "--no-provenance")
    assert pushed.code == 0, pushed.err
    statement = recorded(tmp_path)
    crawled = run_cli(
        tmp_path, "crawl", "--from", "oci:store", "--lake", "lake", "--trust", "trust.yaml"
    )
    assert crawled.code == 0, crawled.err
    (run,) = _lake_rows(tmp_path / "lake", "runs", "run_id")
    evaluations = _lake_rows(tmp_path / "lake", "policy_evaluations", "policy_name")
    expected = [
        {
            "run_id": run["run_id"],
            "manifest_digest": run["manifest_digest"],
            "envelope_digest": run["envelope_digest"],
            "workflow": "build",
            "project": "app",
            "team": "web",
            "policy_name": e["name"],
            "policy_digest": "sha256:" + e["digest"]["sha256"],
            "gate": e["gate"],
            "severity": e["severity"],
            "status": e["status"],
            "violations": e["violationCount"],
            "recorded_violations": len(e["violations"]),
            "skipped_reason": e.get("skipped"),
            "parameters": json.dumps(e["parameters"], sort_keys=True) if e["parameters"] else None,
            "run_date": run["run_date"],
        }
        for e in sorted(statement, key=lambda e: str(e["name"]))
    ]
    assert evaluations == expected
    assert [e["status"] for e in evaluations] == ["passed", "passed", "skipped"]
    assert json.loads(evaluations[1]["parameters"]) == {"deny": "Zlib,GPL-3.0-or-later"}
    assert _lake_rows(tmp_path / "lake", "policy_violations", "policy_name") == []
    check = run_cli(tmp_path, "lake", "check", "--lake", "lake")
    assert check.code == 0, check.out + check.err


def test_recorded_violations_reach_policy_violations_row_by_row(tmp_path: Path) -> None:
    pushed = attest(tmp_path, "    - components_have_purls\n", COVERING)
    assert pushed.code == 0, pushed.err
    (evaluation,) = recorded(tmp_path)
    assert (
        run_cli(
            tmp_path, "crawl", "--from", "oci:store", "--lake", "lake", "--trust", "trust.yaml"
        ).code
        == 0
    )
    violations = _lake_rows(tmp_path / "lake", "policy_violations", "position")
    assert [(v["policy_name"], v["position"], v["violation"]) for v in violations] == [
        ("components_have_purls", i, text) for i, text in enumerate(evaluation["violations"])
    ]
    assert {v["gate"] for v in violations} == {False}
    (row,) = _lake_rows(tmp_path / "lake", "policy_evaluations", "policy_name")
    assert (row["status"], row["violations"]) == ("violated", 1)


def test_evaluations_signed_by_an_untrusted_key_reach_the_trusted_tables_only_once_trusted(
    tmp_path: Path,
) -> None:
    pushed = attest(tmp_path, "    - components_have_purls\n", COVERING)
    assert pushed.code == 0, pushed.err
    assert run_cli(tmp_path, "keys", "generate", "--out", "other").code == 0
    (tmp_path / "trust.yaml").write_text("keys:\n  - path: other.pub\n")  # not the CI's key
    crawled = run_cli(
        tmp_path, "crawl", "--from", "oci:store", "--lake", "lake", "--trust", "trust.yaml"
    )
    assert crawled.code == 0, crawled.err
    lake = tmp_path / "lake"
    assert _lake_rows(lake, "policy_evaluations", "policy_name") == []
    assert _lake_rows(lake, "policy_violations", "policy_name") == []
    attestations = _lake_rows(lake, "attestations", "envelope_digest")
    run_statement = [a for a in attestations if "policyEvaluations" in (a["statement"] or "")]
    assert len(run_statement) == 1 and run_statement[0]["trusted"] is False
    # Re-evaluated under a policy that trusts the CI's key, the same bytes now reach them.
    (tmp_path / "trusted.yaml").write_text("keys:\n  - path: ci.pub\n")
    back = run_cli(tmp_path, "reverify", "--lake", "lake", "--trust", "trusted.yaml")
    assert back.code == 0, back.out + back.err
    (row,) = _lake_rows(lake, "policy_evaluations", "policy_name")
    assert (row["policy_name"], row["status"], row["violations"]) == (
        "components_have_purls",
        "violated",
        1,
    )
    assert len(_lake_rows(lake, "policy_violations", "policy_name")) == 1
    assert run_cli(tmp_path, "lake", "check", "--lake", "lake").code == 0
