"""Policies as SQL across a lake: each library policy finds what the demo plants (checked
against an independent query of the lake) and passes the rest; ``policy eval`` gates on the
gating ones; ``gate --policy`` holds an artifact's runs to a policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from attestlake import open_lake
from attestlake.audit.policies import REQUIRED_COLUMNS, by_default, evaluate, library
from attestlake.demo.demo import DemoResult
from tests.integration.cli_helpers import run_cli
from tests.lakefactory import raw_lake


def _sql(lake: Path, query: str) -> list[dict[str, Any]]:
    with open_lake(lake) as opened:
        rows: list[dict[str, Any]] = opened.sql(query).to_pylist()
        return rows


def _violating(demo: DemoResult, name: str, **params: str) -> set[str]:
    with open_lake(demo.lake) as lake:
        (policy,) = [p for p in library() if p.name == name]
        (result,) = evaluate(lake, [policy], {name: params})
    assert set(REQUIRED_COLUMNS) <= set(result.table.column_names)
    return result.runs()


def test_the_library_is_documented_and_runs_on_the_demo(demo: DemoResult) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    for policy in library():
        assert f"## `{policy.name}`" in doc, policy.name
        assert f"**Gate:** {'yes' if policy.gate else 'no'}" in doc, policy.name
    runnable = [p for p in library() if by_default(p)]
    with open_lake(demo.lake) as lake:
        assert len(evaluate(lake, runnable)) == len(runnable)


def test_sbom_covers_image_finds_the_images_missing_sbom_digests_finds(demo: DemoResult) -> None:
    found = _violating(demo, "sbom_covers_image")
    missing = next(q for q in demo.report.results if q.query.name == "missing_sbom_digests")
    assert found == {r["run_id"] for r in missing.rows} and len(found) == 7
    every = {r["run_id"] for r in _sql(demo.lake, "SELECT run_id FROM runs")}
    assert every - found  # the other runs pass


def test_components_have_purls_finds_the_sloppy_sboms(demo: DemoResult) -> None:
    without = _sql(
        demo.lake,
        "SELECT DISTINCT r.run_id, r.workflow FROM sbom_components AS c JOIN runs AS r "
        "USING (manifest_digest, envelope_digest) WHERE c.trusted AND c.purl IS NULL",
    )
    # the demo's plants: ledger-release's ledger-native, sso-build's vendored jar
    assert {r["workflow"] for r in without} == {"ledger-release", "sso-build"}
    assert _violating(demo, "components_have_purls") == {r["run_id"] for r in without}


def test_across_the_lake_each_run_gets_the_status_its_push_recorded(demo: DemoResult) -> None:
    """Every evaluation the demo's pushes recorded (passed, violated, skipped) is what
    evaluating the same policy, with the same parameters, across the lake says of that run."""
    recorded = _sql(
        demo.lake,
        "SELECT run_id, policy_name, status, parameters FROM policy_evaluations ORDER BY ALL",
    )
    assert {r["status"] for r in recorded} == {"passed", "violated", "skipped"}
    by_policy: dict[tuple[str, str | None], dict[str, str]] = {}
    for r in recorded:
        by_policy.setdefault((r["policy_name"], r["parameters"]), {})[r["run_id"]] = r["status"]
    with open_lake(demo.lake) as lake:
        for (name, params), pushed in by_policy.items():
            (policy,) = [p for p in library() if p.name == name]
            given = {name: json.loads(params)} if params else {}
            (result,) = evaluate(lake, [policy], given)
            across = result.statuses()
            assert {run: across.get(run) for run in pushed} == pushed, name


def test_provenance_builder_allowed_finds_the_laptop_build(demo: DemoResult) -> None:
    laptop = next(q for q in demo.report.results if q.query.name == "builds_outside_ci").rows
    assert _violating(demo, "provenance_builder_allowed") == {r["run_id"] for r in laptop}


def test_images_from_allowed_registries_needs_the_organisations_list(
    tmp_path: Path, demo: DemoResult
) -> None:
    assert (
        _violating(demo, "images_from_allowed_registries", allowed="registry.cyberdyne.example")
        == set()
    )
    shipped = _sql(
        demo.lake,
        "SELECT DISTINCT r.run_id FROM runs AS r JOIN materials AS m USING (manifest_digest, run_id) "
        "WHERE m.type = 'CONTAINER_IMAGE' AND m.output AND coalesce(r.status, 'success') = 'success'",
    )
    assert _violating(demo, "images_from_allowed_registries", allowed="ghcr.io") == {
        r["run_id"] for r in shipped
    }
    missing = run_cli(
        tmp_path,
        "policy",
        "eval",
        "--lake",
        str(demo.lake),
        "--policy",
        "images_from_allowed_registries",
    )
    assert missing.code == 1 and "allowed" in missing.err


def test_denied_licences(tmp_path: Path) -> None:
    def run(n: int) -> dict[str, Any]:
        return {"run_id": f"run-{n}", "project": "p", "workflow": f"w{n}",
                "manifest_digest": f"sha256:{n}" + "0" * 63,
                "envelope_digest": f"sha256:{n}" + "1" * 63, "run_date": "2026-11-01"}  # fmt: skip

    def component(n: int, name: str, licences: str | None, trusted: bool = True) -> dict[str, Any]:
        return {"manifest_digest": f"sha256:{n}" + "0" * 63,
                "envelope_digest": f"sha256:{n}" + "1" * 63, "name": name, "version": "1.0",
                "licenses": licences, "trusted": trusted}  # fmt: skip

    def sbom(n: int) -> dict[str, Any]:
        return {"manifest_digest": f"sha256:{n}" + "0" * 63, "run_id": f"run-{n}",
                "envelope_digest": f"sha256:{n}" + "1" * 63, "name": "sbom",
                "type": "SBOM_CYCLONEDX_JSON", "run_date": "2026-11-01"}  # fmt: skip

    raw_lake(
        tmp_path / "lake",
        {
            "runs": [run(1), run(2), run(3), run(4)],
            # run-4 has no SBOM material (its components come from elsewhere): skipped, as at
            # push, though one of them is under a denied licence
            "materials": [sbom(1), sbom(2), sbom(3)],
            "sbom_components": [
                component(1, "readline", '["GPL-3.0-only"]'),
                component(2, "zlib", '["Zlib", "MIT"]'),
                component(3, "agpl-thing", '["agpl-3.0-or-later"]', trusted=False),
                component(4, "readline", '["GPL-3.0-only"]'),
            ],
        },
    )
    out = run_cli(
        tmp_path, "policy", "eval", "--lake", "lake", "--policy", "denied_licences", "-f", "json"
    )
    assert out.code == 3  # a gating policy with violations
    (result,) = out.json()
    assert result["runs"] == ["run-1"]  # run-3's component is not trusted: not its SBOM
    assert (result["judged"], result["passed"], result["skipped"]) == (4, 2, 1)
    assert result["skipped_runs"] == ["run-4"]
    assert (
        result["skipped_reason"] == "the run has no SBOM_CYCLONEDX_JSON or SBOM_SPDX_JSON material"
    )
    assert [r["run_id"] for r in result["rows"]] == ["run-1"]
    assert result["rows"][0]["violation"] == "component readline 1.0 is under GPL-3.0-only"
    allowed = run_cli(
        tmp_path, "policy", "eval", "--lake", "lake", "--policy", "denied_licences",
        "--param", "denied_licences.deny=SSPL-1.0",
    )  # fmt: skip
    assert allowed.code == 0, allowed.err


def test_policy_eval_exits_3_only_for_gating_policies(tmp_path: Path, demo: DemoResult) -> None:
    audit_only = run_cli(
        tmp_path, "policy", "eval", "--lake", str(demo.lake), "--policy", "components_have_purls"
    )
    assert audit_only.code == 0, audit_only.err
    # ledger-release's 10 runs and sso-build's 12 violate it; base-images' and login-ui-build's
    # 3 runs each without an SBOM are skipped, as at push
    assert (
        "components_have_purls [low, audit]: 22 violation(s) in 22 run(s); 76 passed, 6 skipped: "
        "the run has no SBOM_CYCLONEDX_JSON or SBOM_SPDX_JSON material\n"
    ) in audit_only.out
    everything = run_cli(tmp_path, "policy", "eval", "--lake", str(demo.lake))
    assert everything.code == 3
    assert "gating policies with violations: sbom_covers_image" in everything.err


def test_a_bad_policy_is_a_clear_error(tmp_path: Path, demo: DemoResult) -> None:
    (tmp_path / "mine.sql").write_text(
        "-- title: Runs\n-- description: every run, without the columns a policy needs\n"
        "-- severity: low\nSELECT run_id FROM runs\n"
    )
    out = run_cli(tmp_path, "policy", "eval", "--lake", str(demo.lake), "--policy", "mine.sql")
    assert out.code == 1 and "lacks column(s) project, workflow, violation" in out.err
    unknown = run_cli(tmp_path, "policy", "eval", "--lake", str(demo.lake), "--policy", "nope")
    assert unknown.code == 1 and "sbom_covers_image" in unknown.err
    (tmp_path / "gate.sql").write_text(
        "-- title: x\n-- description: a policy with a gate that is neither true nor false\n"
        "-- severity: low\n-- gate: maybe\nSELECT 1\n"
    )
    bad_gate = run_cli(tmp_path, "policy", "show", "gate.sql")
    assert bad_gate.code == 1 and "gate: expected true or false" in bad_gate.err


def test_gate_holds_the_runs_to_a_named_policy(tmp_path: Path, demo: DemoResult) -> None:
    laptop = next(q for q in demo.report.results if q.query.name == "builds_outside_ci").rows[0]
    artifact = _sql(
        demo.lake,
        f"SELECT digest FROM subjects WHERE run_id = '{laptop['run_id']}' AND digest IS NOT NULL",
    )[0]["digest"]
    plain = run_cli(tmp_path, "gate", artifact, "--lake", str(demo.lake))
    held = run_cli(
        tmp_path,
        "gate",
        artifact,
        "--lake",
        str(demo.lake),
        "--policy",
        "provenance_builder_allowed",
    )
    assert held.code == 3
    assert f"run {laptop['run_id']} violates policy provenance_builder_allowed" in held.out
    assert "violates policy provenance_builder_allowed" not in plain.out
