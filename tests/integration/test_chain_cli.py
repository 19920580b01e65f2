"""The whole chain through the real CLI: contract -> collector -> OCI layout -> crawl -> lake -> SQL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_helpers import (
    GITHUB_ENV,
    SECRETS,
    attest_run,
    image,
    run_cli,
    setup_workspace,
)


def _store_bytes(store: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file())


def test_chain_layout_store_incremental(tmp_path: Path) -> None:
    setup_workspace(tmp_path)
    lint = run_cli(tmp_path, "contract", "lint", "contract.yaml")
    assert lint.code == 0 and lint.out.startswith(
        "OK contract.yaml: contract skynet-build revision 1"
    )

    pushed = attest_run(tmp_path, "oci:store", 1, env={**SECRETS, "DEPLOY_ENV": "prod"})
    assert pushed.code == 0, pushed.err
    assert "pushed oci:store:run-" in pushed.out

    # Secrets in the runner's environment never leave it; the allow-listed variable does.
    blob = _store_bytes(tmp_path / "store")
    payloads = []
    for p in (tmp_path / "store" / "blobs" / "sha256").iterdir():
        try:
            env = json.loads(p.read_bytes())
        except ValueError:
            continue
        if isinstance(env, dict) and "payload" in env:
            import base64

            payloads.append(base64.b64decode(env["payload"]))
    assert payloads, "no envelope found in the store"
    for secret in SECRETS.values():
        assert secret.encode() not in blob
        assert all(secret.encode() not in p for p in payloads)
    assert any(b'"DEPLOY_ENV":"prod"' in p for p in payloads)

    first = run_cli(
        tmp_path, "crawl", "--from", "store", "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert first.code == 0, first.err
    assert first.json()["ingested"] == 1 and first.json()["verified"] == 1
    # One attestation of two documents: the run statement and its SLSA provenance (default).
    assert (first.json()["documents"], first.json()["documents_verified"]) == (2, 2)

    again = run_cli(
        tmp_path, "crawl", "--from", "store", "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert again.json()["ingested"] == 0 and again.json()["already_known"] == 1

    assert attest_run(tmp_path, "oci:store", 2).code == 0
    third = run_cli(
        tmp_path, "crawl", "--from", "store", "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert third.json()["ingested"] == 1 and third.json()["discovered"] == 2

    rows = run_cli(
        tmp_path,
        "sql",
        "--lake",
        "lake",
        "--format",
        "json",
        "SELECT r.workflow, r.project, r.team, r.runner_type, r.runner_url, m.value "
        "FROM runs r JOIN materials m USING (run_id) WHERE m.type = 'CONTAINER_IMAGE' ORDER BY m.value",
    )
    assert rows.code == 0, rows.err
    assert rows.json() == [
        {
            "workflow": "build",
            "project": "skynet",
            "team": "ai",
            "runner_type": "GITHUB_ACTION",
            "runner_url": f"https://github.com/cyberdyne/skynet/actions/runs/{4242 + n}",
            "value": image(n),
        }
        for n in (1, 2)
    ]
    sbom = run_cli(
        tmp_path,
        "sql",
        "--lake",
        "lake",
        "--format",
        "csv",
        "SELECT count(*) AS n, min(sbom_components) AS c FROM materials WHERE type = 'SBOM_CYCLONEDX_JSON'",
    )
    assert sbom.out.splitlines() == ["n,c", "2,2"]


def test_push_missing_required_material_pushes_nothing(tmp_path: Path) -> None:
    setup_workspace(tmp_path)
    assert (
        run_cli(
            tmp_path,
            "attest",
            "init",
            "--contract",
            "contract.yaml",
            "--workflow",
            "build",
            "--project",
            "skynet",
            env=GITHUB_ENV,
        ).code
        == 0
    )
    assert run_cli(tmp_path, "attest", "add", "--name", "image", "--value", image(7)).code == 0
    status = run_cli(tmp_path, "attest", "status", "--json")
    assert status.json()["missing"] == ["material sbom"] and status.json()["complete"] is False

    pushed = run_cli(tmp_path, "attest", "push", "--key", "ci.key", "--to", "store")
    assert pushed.code == 3
    assert "missing: material sbom" in pushed.err and "Nothing was pushed" in pushed.err
    assert not (tmp_path / "store").exists()

    # Supplying it makes the same run pushable; pushing twice does not duplicate it.
    assert run_cli(tmp_path, "attest", "add", "--name", "sbom", "--value", "sbom.json").code == 0
    once = run_cli(
        tmp_path, "attest", "push", "--key", "ci.key", "--to", "store", "--no-provenance"
    )
    assert once.code == 0 and "provenance" not in once.out
    twice = run_cli(tmp_path, "attest", "push", "--key", "ci.key", "--to", "store")
    assert twice.code == 0 and "already pushed" in twice.out
    index = json.loads((tmp_path / "store" / "index.json").read_text())
    assert len(index["manifests"]) == 1
    from attestlake.store.layout import LayoutStore

    [tag] = LayoutStore(tmp_path / "store").tags()
    roles = [
        layer.annotations["dev.attestlake.role"]
        for layer in LayoutStore(tmp_path / "store").get_manifest(tag).layers
    ]
    assert roles == ["envelope", "evidence"]  # --no-provenance: the run statement only


def test_bad_inputs_give_clear_errors(tmp_path: Path) -> None:
    setup_workspace(tmp_path)
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: attestlake.dev/v1\nkind: Contract\nmetadata:\n  name: x\nspec:\n"
        "  materials:\n    - type: SBOM\n      name: s\n"
    )
    bad = run_cli(tmp_path, "contract", "lint", "bad.yaml")
    assert bad.code == 1
    assert "bad.yaml:7: spec.materials[0].type: unknown material type 'SBOM'" in bad.err
    assert "Traceback" not in bad.err

    assert (
        run_cli(
            tmp_path,
            "attest",
            "init",
            "--contract",
            "contract.yaml",
            "--workflow",
            "w",
            "--project",
            "p",
        ).code
        == 0
    )
    before = (tmp_path / ".attestlake" / "attestation.json").read_bytes()

    kind = run_cli(tmp_path, "attest", "add", "--name", "extra", "--kind", "PDF", "--value", "x")
    assert (
        kind.code == 2 and "'PDF' is not one of: ARTIFACT, ASYNCAPI_SPEC, ATTESTATION" in kind.err
    )
    missing = run_cli(tmp_path, "attest", "add", "--name", "sbom", "--value", "nope.json")
    assert missing.code == 1 and "nope.json: no such file" in missing.err
    (tmp_path / "notjson.json").write_text("<html>")
    notjson = run_cli(tmp_path, "attest", "add", "--name", "sbom", "--value", "notjson.json")
    assert notjson.code == 1 and "must be JSON" in notjson.err
    badimage = run_cli(tmp_path, "attest", "add", "--name", "image", "--value", "alpine:latest")
    assert badimage.code == 1 and "NAME@sha256" in badimage.err
    # None of the refused materials changed the state file.
    assert (tmp_path / ".attestlake" / "attestation.json").read_bytes() == before

    assert run_cli(tmp_path, "attest", "add", "--name", "image", "--value", image(1)).code == 0
    assert run_cli(tmp_path, "attest", "add", "--name", "sbom", "--value", "sbom.json").code == 0
    unreachable = run_cli(
        tmp_path, "attest", "push", "--key", "ci.key", "--to", "127.0.0.1:9/skynet"
    )
    assert unreachable.code == 1
    assert "127.0.0.1:9" in unreachable.err and "Traceback" not in unreachable.err
    state = json.loads((tmp_path / ".attestlake" / "attestation.json").read_text())
    assert state["pushed"] is None  # the run can be pushed again once the registry is back

    nolake = run_cli(tmp_path, "sql", "--lake", "nolake", "SELECT 1")
    assert nolake.code == 1 and "error: not a lake: nolake (no such directory" in nolake.err
    nokey = run_cli(tmp_path, "attest", "push", "--key", "missing.key", "--to", "store")
    assert nokey.code == 1 and "missing.key: no such key file" in nokey.err
    assert not (tmp_path / "store").exists()


def test_tampered_envelope_is_recorded_never_trusted(tmp_path: Path) -> None:
    from attestlake.demo.ci_runs import _tamper
    from attestlake.store.layout import LayoutStore

    setup_workspace(tmp_path)
    ok = attest_run(tmp_path, "oci:store", 1)
    bad = attest_run(tmp_path, "oci:store", 2)
    assert ok.code == 0 and bad.code == 0
    tag = bad.out.split("oci:store:")[1].split()[0]
    _tamper(LayoutStore(tmp_path / "store"), tag)

    crawl = run_cli(
        tmp_path, "crawl", "--from", "store", "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert crawl.code == 0, crawl.err
    assert crawl.json()["verified"] == 1 and crawl.json()["reasons"] == {"bad_signature": 1}
    failures = run_cli(
        tmp_path,
        "sql",
        "--lake",
        "lake",
        "--format",
        "json",
        "SELECT status, reason, source FROM verifications WHERE status <> 'verified'",
    )
    assert failures.json() == [
        {"status": "not_verified", "reason": "bad_signature", "source": f"oci:store:{tag}"}
    ]
    runs = run_cli(tmp_path, "sql", "--lake", "lake", "--format", "csv", "SELECT run_id FROM runs")
    assert (
        runs.out.splitlines()[1:] == [tag.removeprefix("run-")] or len(runs.out.splitlines()) == 2
    )
    assert tag.removeprefix("run-") not in runs.out
