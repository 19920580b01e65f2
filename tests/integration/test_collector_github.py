"""A GitHub-Actions-like scenario through the real CLI and a real registry.

SecOps publishes two contract revisions and the inventory; a CI job builds an image, attests
it against the latest contract (cosign key, start recorded, kinds detected, image tag resolved),
pushes run statement + SLSA provenance + evidence, attaches them to the image as referrers and
writes the job summary; a retried step adds nothing; a job pinned to the old revision is warned;
a failing job is refused with annotations and records its failure; the crawler reads it all.
Run with ``-s`` to see the transcript.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.collect.push import statement_of
from attestlake.store.oci import Index
from attestlake.store.registry import RegistryStore
from tests import assets
from tests.integration.cli_helpers import GITHUB_ENV, SBOM, Result, run_cli
from tests.integration.collector_helpers import all_bytes, push_image
from tests.integration.registry_server import RegistryServer
from tests.unit.test_cosign_key import cosign_key_file

pytestmark = pytest.mark.registry

CONTRACT_V1 = assets.text("contracts/github-image-optional-sbom.yaml")
CONTRACT_V2 = assets.text("contracts/github-image-sbom-sarif-optional-junit.yaml")
INVENTORY = assets.text("inventories/skynet-build-daily.yaml")
SARIF = assets.data("sarif/semgrep-one-note.json")
SECRETS = {
    "GITHUB_TOKEN": "ghs_ScenarioSECRET0123456789",
    "AWS_SECRET_ACCESS_KEY": "scenarioAwsSECRETkey/0123456789",
    "MY_CUSTOM_SECRET": "scenario-custom-secret-77",
    "COSIGN_PASSWORD": "scenario-cosign-password-SECRET",
}


class Transcript:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.lines: list[str] = []

    def run(self, *args: str, env: dict[str, str] | None = None, code: int = 0) -> Result:
        result = run_cli(self.cwd, *args, env=env)
        self.lines.append("$ attestlake " + " ".join(args))
        self.lines += [f"  {line}" for line in (result.out + result.err).splitlines()]
        self.lines.append(f"  [exit {result.code}]")
        assert result.code == code, f"{args}: {result.out}\n{result.err}"
        return result


def _setup(tmp: Path) -> None:
    (tmp / "contract-v1.yaml").write_text(CONTRACT_V1)
    (tmp / "contract-v2.yaml").write_text(CONTRACT_V2)
    (tmp / "workflows.yaml").write_text(INVENTORY)
    (tmp / "sbom.cdx.json").write_text(json.dumps(SBOM))
    (tmp / "results.sarif").write_text(json.dumps(SARIF))
    (tmp / "junit.xml").write_text(assets.text("junit/three-testcases.xml"))
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp / "cosign.key").write_bytes(cosign_key_file(key, SECRETS["COSIGN_PASSWORD"].encode()))
    (tmp / "cosign.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp / "trust.yaml").write_text("keys:\n  - path: cosign.pub\n")


def test_github_actions_like_scenario(tmp_path: Path, registry: RegistryServer) -> None:
    _setup(tmp_path)
    t = Transcript(tmp_path)
    host = registry.host
    contracts, attestations = f"{host}/secops/contracts", f"{host}/cyberdyne/attestations"

    # -- SecOps publishes the contract (two revisions) and the inventory ------------------
    r1 = t.run("contract", "push", "contract-v1.yaml", "--to", contracts, "--unsigned")
    assert "published contract skynet-build revision 1" in r1.out
    r2 = t.run("contract", "push", "contract-v2.yaml", "--to", contracts, "--unsigned")
    assert "revision 2 (was 1)" in r2.out
    same = t.run("contract", "push", "contract-v2.yaml", "--to", contracts, "--unsigned")
    assert same.out.startswith("unchanged: contract skynet-build revision 2")
    listed = t.run("contract", "list", "--from", contracts, "--json").json()
    assert [(r["revision"], r["latest"]) for r in listed] == [(1, False), (2, True)]
    t.run("contract", "list", "--from", contracts)
    t.run("inventory", "push", "workflows.yaml", "--to", contracts, "--unsigned")
    t.run("inventory", "pull", "--from", contracts, "--out", "pulled.yaml")
    assert (tmp_path / "pulled.yaml").read_text() == INVENTORY

    # -- The build job: an image in the registry, then the collector -----------------------
    image_digest = push_image(registry.url, "cyberdyne/skynet", "1.0")
    summary = tmp_path / "step-summary.md"
    env = {
        **GITHUB_ENV,
        **SECRETS,
        "GITHUB_RUN_ID": "5001",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_JOB": "build",
        "GITHUB_WORKFLOW_REF": "cyberdyne/skynet/.github/workflows/build.yml@refs/heads/main",
        "GITHUB_STEP_SUMMARY": str(summary),
        "DEPLOY_ENV": "production",
    }
    init = (
        "attest", "init", "--contract", f"{contracts}#skynet-build", "--workflow", "build",
        "--project", "skynet", "--team", "ai", "--annotation", "owner=sarah",
        "--to", attestations, "--key", "cosign.key",
    )  # fmt: skip
    started = t.run(*init, env=env)
    assert "contract skynet-build revision 2" in started.out
    assert "start recorded:" in started.out and "-started" in started.out
    assert "missing: material image, material sbom, material scan" in started.out
    image = t.run("attest", "add", "--value", f"{host}/cyberdyne/skynet:1.0", env=env)
    assert f"added image (CONTAINER_IMAGE) {image_digest}" in image.out  # tag resolved
    t.run("attest", "add", "--value", "sbom.cdx.json", env=env)
    t.run("attest", "add", "--value", "results.sarif", env=env)
    t.run("attest", "add", "--value", "junit.xml", env=env)
    status = t.run("attest", "status", env=env)
    assert "ready to push" in status.out
    pushed = t.run("attest", "push", "--provenance", "--bundle-out", "attestation.json", env=env)
    assert f"pushed {attestations}:run-" in pushed.out.replace("http://", "")
    assert f"attached to {host}/cyberdyne/skynet:1.0@{image_digest}" in pushed.out
    run_id = json.loads((tmp_path / ".attestlake" / "attestation.json").read_text())["runId"]

    verified = t.run(
        "verify", "attestation.json", "attestation.provenance.json", "--trust", "trust.yaml"
    )
    assert "all 2 verified" in verified.err

    # What the registry holds: start record, final record with provenance and evidence.
    repo = RegistryStore(registry.url, "cyberdyne/attestations")
    assert sorted(repo.tags()) == [f"run-{run_id}", f"run-{run_id}-started"]
    final = repo.get_manifest(f"run-{run_id}")
    assert [la.annotations["dev.attestlake.role"] for la in final.layers] == [
        "envelope", "provenance", "evidence", "evidence", "evidence",
    ]  # fmt: skip
    stmt = statement_of(repo.get_blob(final.layers[0].digest), final.layers[0].media_type)
    assert stmt is not None
    pred = stmt["predicate"]
    assert pred["contract"]["revision"] == 2
    assert pred["contract"]["source"].endswith("#skynet-build@2")
    assert pred["annotations"] == {"owner": "sarah"}
    assert pred["runner"]["environment"]["DEPLOY_ENV"] == "production"
    assert stmt["subject"][0]["digest"] == {"sha256": image_digest.split(":")[1]}

    # The image carries each signed statement as an OCI 1.1 referrer in cosign's bundle
    # layout (tag schema fallback: docker-registry 2.8 has no referrers API).
    image_repo = RegistryStore(registry.url, "cyberdyne/skynet")
    index_tag = image_digest.replace(":", "-")
    assert index_tag in list(image_repo.tags())
    index = image_repo.get_any_manifest(index_tag)
    assert isinstance(index, Index)
    assert [r.annotations["dev.sigstore.bundle.predicateType"] for r in index.manifests] == [
        "https://attestlake.dev/attestation/run/v1",
        "https://slsa.dev/provenance/v1",
    ]
    for referrer in index.manifests:
        assert referrer.artifact_type == "application/vnd.dev.sigstore.bundle.v0.3+json"
        assert referrer.annotations["dev.attestlake.run-id"] == run_id
        attached = image_repo.get_manifest(referrer.digest)
        assert attached.subject is not None and attached.subject.digest == image_digest

    text = summary.read_text()
    assert "pushed (success)" in text and "| scan | SARIF | ✅ added |" in text

    # -- A retried step (fresh state, same job): nothing new is pushed ---------------------
    (tmp_path / ".attestlake" / "attestation.json").unlink()
    t.run(*init, env=env)
    for value in (f"{host}/cyberdyne/skynet:1.0", "sbom.cdx.json", "results.sarif", "junit.xml"):
        t.run("attest", "add", "--value", value, env=env)
    again = t.run("attest", "push", "--provenance", env=env)
    assert "already pushed" in again.out
    assert str(final.digest) in again.out
    assert sorted(repo.tags()) == [f"run-{run_id}", f"run-{run_id}-started"]
    assert image_repo.get_any_manifest(index_tag).raw == index.raw  # no referrer added

    # -- A job pinned to the older revision is told what the latest adds -------------------
    pinned_env = {**env, "GITHUB_RUN_ID": "5002"}
    pin = [*init[:3], f"{contracts}#skynet-build@1", *init[4:]]
    pinned = t.run(*pin, "--state", "pinned.json", env=pinned_env)
    assert "warning: contract skynet-build is pinned to revision 1, but revision 2" in pinned.err
    assert "requires material scan (SARIF)" in pinned.err
    assert "::warning title=attestlake::contract skynet-build is pinned" in pinned.out

    # -- A failing job: refused with annotations, then recorded as a failure ---------------
    fail_env = {**env, "GITHUB_RUN_ID": "5003"}
    t.run(*init, "--state", "failing.json", env=fail_env)
    t.run(
        "attest",
        "add",
        "--value",
        f"{host}/cyberdyne/skynet:1.0",
        "--state",
        "failing.json",
        env=fail_env,
    )
    refused = t.run("attest", "push", "--state", "failing.json", env=fail_env, code=3)
    assert "::error title=attestlake%3A contract skynet-build::material sbom" in refused.out
    assert "Nothing was pushed" in refused.err
    assert "❌ missing (required)" in summary.read_text()
    reset = t.run(
        "attest", "reset", "--trigger", "failure", "--reason", "sbom generation failed",
        "--state", "failing.json", env=fail_env,
    )  # fmt: skip
    assert "-failure" in reset.out and "attached" not in reset.out  # only successes are

    # -- The crawler reads it all; no secret reached the registry --------------------------
    crawl = t.run(
        "crawl", "--from", attestations, "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert crawl.json()["not_verified"] == 0
    everything = all_bytes(registry.workdir / "data")
    for secret in SECRETS.values():
        assert secret.encode() not in everything, secret

    print("\n".join(t.lines))


def test_keyless_without_an_oidc_identity_says_what_to_do(tmp_path: Path) -> None:
    _setup(tmp_path)
    env = {**GITHUB_ENV}
    init = run_cli(
        tmp_path, "attest", "init", "--contract", "contract-v1.yaml", "--workflow", "build",
        "--project", "skynet", "--to", "oci:store", "--keyless", env=env,
    )  # fmt: skip
    assert init.code == 1
    assert "id-token: write" in init.err and "Traceback" not in init.err
    assert not (tmp_path / "store").exists()
