"""Secrets never leave the runner: for every runner type, nothing pushed contains them."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from attestlake._cli.dispatch import app
from tests import assets
from tests.integration.cli_helpers import SBOM
from tests.integration.collector_helpers import all_bytes
from tests.unit.test_cosign_key import cosign_key_file


def _without_home(env: dict[str, str]) -> dict[str, str]:
    """The environment without HOME and PATH, which the test sets to its own."""
    return {k: v for k, v in env.items() if k not in ("HOME", "PATH")}


RUNNERS = {
    "GITHUB_ACTION": {
        **assets.env("ci/github-push-main-org-repo.json"),
        "GITHUB_JOB": "build",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "actions-id-request-SECRET-0001",
        "ACTIONS_RUNTIME_TOKEN": "actions-runtime-SECRET-0002",
    },
    "GITLAB_PIPELINE": {
        **assets.env("ci/gitlab-merge-request.json"),
        "CI_JOB_ID": "42",
        "CI_JOB_TOKEN": "glcbt-SECRET-0003",
    },
    "AZURE_PIPELINE": {
        **assets.env("ci/azure-individual-ci-main.json"),
        "BUILD_BUILDID": "77",
        "SYSTEM_ACCESSTOKEN": "azure-SECRET-0004",
    },
    "JENKINS_JOB": {
        **assets.env("ci/jenkins-branch-main.json"),
        "JENKINS_API_TOKEN": "jenkins-SECRET-0005",
    },
    "CIRCLECI_BUILD": {
        **assets.env("ci/circleci-branch-main.json"),
        "CIRCLE_TOKEN": "circle-SECRET-0006",
    },
    "TEKTON_PIPELINE": {
        **assets.env("ci/tekton-pipeline-run.json"),
        "TEKTON_BASIC_AUTH": "tekton-SECRET-0007",
    },
    "TEAMCITY_PIPELINE": {
        **_without_home(assets.env("ci/teamcity-build-main.json")),
        "TEAMCITY_AGENT_TOKEN": "teamcity-SECRET-0009",
    },
    "BUILDKITE_PIPELINE": {
        **assets.env("ci/buildkite-pull-request.json"),
        "BUILDKITE_AGENT_ACCESS_TOKEN": "buildkite-SECRET-0010",
    },
    "DAGGER_PIPELINE": {
        **assets.env("ci/dagger-in-gitlab-merge-request.json"),
        "CI_JOB_TOKEN": "glcbt-SECRET-0011",
        "DAGGER_CLOUD_TOKEN": "dagger-SECRET-0012",
    },
    "CHAINLOOP_SANDBOX": {
        **_without_home(assets.env("ci/chainloop-sandbox.json")),
        "CHAINLOOP_TOKEN": "chainloop-SECRET-0013",
    },
    "GENERIC": {"USER": "builder", "CI": "true"},
}
PLANTED = {
    "GITHUB_TOKEN": "ghs_SECRETtokenValue0123456789",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY",
    "MY_CUSTOM_SECRET": "custom-secret-value-42",
    "COSIGN_PASSWORD": "cosign-key-password-SECRET-0008",
}
CONTRACT = assets.text("contracts/any-runner-image-sbom.yaml")
IMAGE = "registry.example.com/cyberdyne/skynet@sha256:" + "3" * 64


def _secrets(runner_env: dict[str, str]) -> list[str]:
    own = [v for k, v in runner_env.items() if "SECRET" in v]
    return [*PLANTED.values(), *own]


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_no_secret_reaches_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: str
) -> None:
    for name in list(os.environ):
        if name not in ("PATH", "LANG"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in {**RUNNERS[runner], **PLANTED, "DEPLOY_ENV": "prod"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    Path("contract.yaml").write_text(CONTRACT)
    Path("sbom.json").write_text(json.dumps(SBOM))
    key = ec.generate_private_key(ec.SECP256R1())
    Path("cosign.key").write_bytes(cosign_key_file(key, PLANTED["COSIGN_PASSWORD"].encode()))
    Path("cosign.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )

    cli = CliRunner()

    def ok(*args: str) -> str:
        result = cli.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    init = ("attest", "init", "--contract", "contract.yaml", "--project", "skynet")
    # A complete run: start recorded, materials, run statement + provenance + evidence.
    ok(*init, "--workflow", "build", "--to", "oci:store", "--key", "cosign.key")
    ok("attest", "add", "--name", "image", "--value", IMAGE)
    ok("attest", "add", "--value", "sbom.json")
    pushed = ok("attest", "push", "--provenance", "--bundle-out", "bundle.json")
    assert "pushed oci:store:run-" in pushed and runner in ok("attest", "status")
    # A failed run, recorded by reset.
    ok(*init, "--workflow", "test", "--to", "oci:store", "--key", "cosign.key", "--state", "s2")
    ok("attest", "reset", "--trigger", "failure", "--reason", "tests failed", "--state", "s2")

    everything = all_bytes(tmp_path / "store")
    assert Path("bundle.json").read_bytes() in everything  # what --bundle-out wrote was pushed
    tags = [t for t in json.loads((tmp_path / "store" / "index.json").read_text())["manifests"]]
    assert len(tags) == 4  # started + final of the first run, started + failure of the second
    assert b'"predicateType":"https://slsa.dev/provenance/v1"' in everything  # payloads decoded
    for secret in _secrets(RUNNERS[runner]):
        assert secret.encode() not in everything, f"{secret} leaked ({runner})"
        assert base64.b64encode(secret.encode()) not in everything
        for state in (".attestlake/attestation.json", "s2"):
            assert secret not in Path(state).read_text()
    assert b'"DEPLOY_ENV":"prod"' in everything  # the allow-listed variable is recorded
    assert f'"type":"{runner}"'.encode() in everything
