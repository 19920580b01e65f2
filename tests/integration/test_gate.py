"""The deploy gate on the demo lake: an artifact a verified, successful run of an inventoried
workflow built against the current contract passes; every other is refused with its reasons."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from attestlake import open_lake
from attestlake.audit.gate import subject_digest
from attestlake.crawl.job import reverify_job
from attestlake.demo.demo import DemoResult
from tests.demo_lake import copy_demo
from tests.integration.cli_helpers import run_cli


def _artifact(lake: Path, where: str) -> dict[str, Any]:
    """The newest artifact (a subject of a verified run statement) of the runs ``where``."""
    with open_lake(lake) as opened:
        rows: list[dict[str, Any]] = opened.sql(
            "SELECT s.digest, r.run_id, r.workflow, r.contract_name, r.contract_revision "
            "FROM subjects AS s JOIN runs AS r USING (run_id, manifest_digest) "
            f"WHERE s.digest IS NOT NULL AND {where} ORDER BY r.started_at DESC LIMIT 1"
        ).to_pylist()
    assert rows, where
    return rows[0]


def _newest_revision(lake: Path, contract: str) -> int:
    with open_lake(lake) as opened:
        found = opened.sql(
            "SELECT max(revision) AS r FROM published_documents "
            "WHERE kind = 'contract' AND name = $c AND status = 'verified'",
            {"c": contract},
        ).to_pylist()
    return int(found[0]["r"])


def test_an_artifact_built_against_the_current_contract_passes(
    tmp_path: Path, demo: DemoResult
) -> None:
    good = _artifact(demo.lake, "r.workflow = 'api-build'")
    assert good["contract_revision"] == _newest_revision(demo.lake, good["contract_name"])
    out = run_cli(tmp_path, "gate", good["digest"], "--lake", str(demo.lake), "--json")
    assert out.code == 0, out.err
    answer = out.json()
    assert answer["passed"] is True and answer["reasons"] == []
    assert [r["run_id"] for r in answer["runs"]] == [good["run_id"]]


def test_an_artifact_built_against_an_old_revision_is_refused(
    tmp_path: Path, demo: DemoResult
) -> None:
    old = _artifact(demo.lake, "r.workflow = 'base-images' AND r.contract_revision = 1")
    newest = _newest_revision(demo.lake, old["contract_name"])
    assert newest > 1
    out = run_cli(tmp_path, "gate", old["digest"], "--lake", str(demo.lake))
    assert out.code == 3
    assert out.out.startswith(f"REFUSED: {old['digest']}")
    expected = (
        f"checked against contract {old['contract_name']} revision 1; revision {newest} is current"
    )
    assert expected in out.out and expected in out.err


def test_an_artifact_no_verified_run_built_is_refused(tmp_path: Path, demo: DemoResult) -> None:
    (tmp_path / "app.tar").write_bytes(b"an artifact nobody attested")
    out = run_cli(tmp_path, "gate", "app.tar", "--lake", str(demo.lake))
    assert out.code == 3
    digest = "sha256:" + hashlib.sha256(b"an artifact nobody attested").hexdigest()
    assert subject_digest(str(tmp_path / "app.tar")) == digest
    assert f"no verified run built {digest}" in out.out
    # the impersonating run's artifact: signed, but never verified
    with open_lake(demo.lake) as opened:
        claimed = opened.sql(
            "SELECT json_extract_string(a.subjects, '$[0].digest.sha256') AS hex "
            "FROM attestations AS a JOIN verifications AS v USING (manifest_digest, envelope_digest) "
            "WHERE v.reason = 'untrusted_signer' AND a.subjects <> '[]' LIMIT 1"
        ).to_pylist()
    assert claimed and claimed[0]["hex"]
    forged = run_cli(tmp_path, "gate", f"sha256:{claimed[0]['hex']}", "--lake", str(demo.lake))
    assert forged.code == 3 and "no verified run built" in forged.out


def test_without_trusted_declared_state_nothing_passes(tmp_path: Path, demo: DemoResult) -> None:
    """The lake re-evaluated under a policy that trusts no declared state: no inventory, no
    published contract; the artifact that passed is refused, saying both."""
    org = copy_demo(demo, tmp_path / "demo")
    (org / "runs-only.yaml").write_text(
        "keys:\n  - path: keys/ci.pub\n  - path: keys/release.pub\n    projects: [skynet-cli]\n"
    )
    reverify_job(org / "lake", org / "runs-only.yaml", jobs=1)
    good = _artifact(org / "lake", "r.workflow = 'api-build'")
    out = run_cli(org, "gate", good["digest"], "--lake", "lake", "--trust", "runs-only.yaml")
    assert out.code == 3
    assert "the workflow is not in the current inventory" in out.out
    assert f"no trusted published revision of contract {good['contract_name']}" in out.out
    # the gate answers only for the policy the lake's verdicts follow
    other = run_cli(org, "gate", good["digest"], "--lake", "lake", "--trust", "trust.yaml")
    assert other.code == 1
    assert "run 'attestlake reverify --lake lake --trust" in other.err


def test_a_subject_that_is_neither_is_a_clear_error(tmp_path: Path, demo: DemoResult) -> None:
    for bad in ("sha256:1234", "SHA256:" + "a" * 64, "not an image!"):
        out = run_cli(tmp_path, "gate", bad, "--lake", str(demo.lake))
        assert out.code == 1, (bad, out.err)
        assert out.err.startswith("error: ") and "Traceback" not in out.err


def test_the_answer_as_a_signed_vsa_that_verify_and_the_crawler_read(
    tmp_path: Path, demo: DemoResult
) -> None:
    assert run_cli(tmp_path, "keys", "generate", "--out", "gate").code == 0
    (tmp_path / "gate-trust.yaml").write_text("keys: [gate.pub]\n")
    good = _artifact(demo.lake, "r.workflow = 'api-build'")
    old = _artifact(demo.lake, "r.workflow = 'base-images' AND r.contract_revision = 1")
    for name, artifact, code in (("pass.json", good, 0), ("fail.json", old, 3)):
        out = run_cli(
            tmp_path,
            *(
                "gate",
                artifact["digest"],
                "--lake",
                str(demo.lake),
                "--trust",
                str(demo.directory / "trust.yaml"),
            ),
            *("--emit-vsa", name, "--key", "gate.key"),
        )
        assert out.code == code, out.err
        assert f"verification summary written to {name}" in out.err
    verified = run_cli(
        tmp_path,
        "verify",
        "pass.json",
        "fail.json",
        "--trust",
        "gate-trust.yaml",
        "--format",
        "json",
    )
    assert verified.code == 0, verified.err
    assert [r["predicate_type"] for r in verified.json()] == [
        "https://slsa.dev/verification_summary/v1"
    ] * 2
    crawled = run_cli(
        tmp_path, "crawl", "--from", "pass.json", "--from", "fail.json", "--lake", "vsas",
        "--trust", "gate-trust.yaml", "--json",
    )  # fmt: skip
    assert crawled.code == 0, crawled.err
    with open_lake(tmp_path / "vsas") as opened:
        summaries = opened.sql(
            "SELECT resource_uri, verification_result, verified_levels, verifier_id, policy_uri "
            "FROM verification_summaries ORDER BY verification_result DESC"
        ).to_pylist()
    assert [(s["resource_uri"], s["verification_result"]) for s in summaries] == [
        (good["digest"], "PASSED"),
        (old["digest"], "FAILED"),
    ]
    assert summaries[1]["verified_levels"] == "[]"
    assert {s["verifier_id"] for s in summaries} == {"https://attestlake.dev/gate/v1"}


def test_emit_vsa_needs_a_signer_and_a_signer_needs_emit_vsa(
    tmp_path: Path, demo: DemoResult
) -> None:
    digest = "sha256:" + "0" * 64
    no_signer = run_cli(tmp_path, "gate", digest, "--lake", str(demo.lake), "--emit-vsa", "v.json")
    assert no_signer.code == 1 and "--emit-vsa needs a signer" in no_signer.err
    assert not (tmp_path / "v.json").exists()
    stray = run_cli(tmp_path, "gate", digest, "--lake", str(demo.lake), "--key", "k.key")
    assert stray.code == 1 and "give --emit-vsa" in stray.err


def test_the_answer_as_sarif_and_junit(tmp_path: Path, demo: DemoResult) -> None:
    from junitparser import Failure, JUnitXml
    from sarif import loader

    good = _artifact(demo.lake, "r.workflow = 'api-build'")
    old = _artifact(demo.lake, "r.workflow = 'base-images' AND r.contract_revision = 1")
    for name, artifact, code in (("pass", good, 0), ("fail", old, 3)):
        out = run_cli(
            tmp_path, "gate", artifact["digest"], "--lake", str(demo.lake),
            "--sarif", f"{name}.sarif", "--junit", f"{name}.xml", "--json",
        )  # fmt: skip
        assert out.code == code, out.err
        reasons = out.json()["reasons"]
        sarif = loader.load_sarif_file(str(tmp_path / f"{name}.sarif"))
        assert sarif.get_result_count() == len(reasons)
        assert [r["Description"] for r in sarif.get_records()] == [
            f"{artifact['digest']} may not ship: {reason}" for reason in reasons
        ]
        xml = JUnitXml.fromfile(str(tmp_path / f"{name}.xml"))
        (case,) = [c for suite in xml for c in suite]
        failed = [r for r in case.result if isinstance(r, Failure)]
        assert bool(failed) == (code == 3)
        if failed:
            assert all(reason in failed[0].text for reason in reasons)


def test_required_material_kinds(tmp_path: Path, demo: DemoResult) -> None:
    good = _artifact(demo.lake, "r.workflow = 'api-build'")
    lake = str(demo.lake)
    has = run_cli(
        tmp_path, "gate", good["digest"], "--lake", lake,
        "--require", "SBOM_CYCLONEDX_JSON", "--require", "SLSA_PROVENANCE", "--json",
    )  # fmt: skip
    assert has.code == 0, has.err
    lacks = run_cli(
        tmp_path, "gate", good["digest"], "--lake", lake, "--require", "SARIF", "--json"
    )
    assert lacks.code == 3
    who = f"run {good['run_id']} of payments-api/api-build"
    assert lacks.json()["reasons"] == [f"{who} has no SARIF material"]
    unknown = run_cli(tmp_path, "gate", good["digest"], "--lake", lake, "--require", "SBOM")
    assert (unknown.code, unknown.out) == (1, "")
    assert "--require SBOM: not a material kind; one of: " in unknown.err
    assert "SBOM_CYCLONEDX_JSON, SBOM_SPDX_JSON" in unknown.err
