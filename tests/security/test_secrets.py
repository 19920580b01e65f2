"""Secrets never leak: not signed, not pushed, not in the state file, not printed.

Every runner is run through the real CLI with a credential planted in each URL variable it
reads (the clone URL with a token in it, a run URL with a password), in allow-listed values,
annotations and a reset reason; then every byte the collector wrote (the store, every signed
payload decoded, the state files, stdout and stderr) is searched for each credential. A store
reference with a password in it (``--from``/``--to``) is refused without printing it.

Commands run in this process with standard output and error captured down to file descriptors 1
and 2 (tests/integration/test_in_process_cli.py); the ``--verbose`` refusals run as real
subprocesses too, so everything a whole process prints (tracebacks, its exit) is searched.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from attestlake.redaction import REDACTED, redact
from tests.integration.cli_helpers import SBOM, Result, run_cli, run_cli_process
from tests.integration.collector_helpers import all_bytes
from tests.integration.registry_server import RegistryServer

SHA = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
IMAGE = "registry.example.com/cyberdyne/skynet@sha256:" + "3" * 64


def _credential(shape: int, tag: str) -> tuple[str, str]:
    """A URL userinfo carrying a credential, and the secret part of it."""
    secret = {
        0: f"Pw{tag}hunter2",  # a plain password
        1: f"ghp_{tag}0123456789abcdefghijKLMNOPQRST",  # a GitHub token as the user name
        2: f"glpat-{tag}0123456789abcdefXYZ",  # GitLab's oauth2:TOKEN form
        3: f"ghs_{tag}0123456789abcdefghijABCDEFGH",  # an installation token
    }[shape % 4]
    user = {0: "ci-bot:", 1: "", 2: "oauth2:", 3: "x-access-token:"}[shape % 4]
    return f"{user}{secret}@", secret


def _plant(url: str, shape: int, tag: str) -> tuple[str, str]:
    scheme, rest = url.split("://", 1)
    userinfo, secret = _credential(shape, tag)
    return f"{scheme}://{userinfo}{rest}", secret


#: Per runner: its marker and plain variables, then every URL variable it reads.
RUNNERS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "GITHUB_ACTION": (
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "org/repo",
            "GITHUB_RUN_ID": "123",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_JOB": "build",
            "GITHUB_SHA": SHA,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_WORKFLOW_REF": "org/repo/.github/workflows/build.yml@refs/heads/main",
        },
        {"GITHUB_SERVER_URL": "https://github.com"},
    ),
    "GITLAB_PIPELINE": (
        {
            "GITLAB_CI": "true",
            "CI_JOB_ID": "42",
            "CI_PROJECT_PATH": "org/repo",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_REF_NAME": "main",
        },
        {
            "CI_PROJECT_URL": "https://gitlab.com/org/repo",
            "CI_JOB_URL": "https://gitlab.com/org/repo/-/jobs/42",
            "CI_PIPELINE_URL": "https://gitlab.com/org/repo/-/pipelines/7",
            "CI_SERVER_URL": "https://gitlab.com",
            "CI_REPOSITORY_URL": "https://gitlab.com/org/repo.git",
        },
    ),
    "AZURE_PIPELINE": (
        {
            "TF_BUILD": "True",
            "BUILD_BUILDID": "77",
            "SYSTEM_TEAMPROJECT": "project",
            "BUILD_SOURCEVERSION": SHA,
            "BUILD_SOURCEBRANCH": "refs/heads/main",
        },
        {
            "BUILD_REPOSITORY_URI": "https://dev.azure.com/org/project/_git/repo",
            "BUILD_BUILDURI": "vstfs:///Build/Build/77",
            "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": "https://dev.azure.com/org/",
        },
    ),
    "JENKINS_JOB": (
        {"JOB_NAME": "app", "BUILD_TAG": "jenkins-app-9", "GIT_COMMIT": SHA},
        {
            "JENKINS_URL": "https://jenkins.example.com/",
            "BUILD_URL": "https://jenkins.example.com/job/app/9/",
            "GIT_URL": "https://git.example.com/org/repo.git",
        },
    ),
    "CIRCLECI_BUILD": (
        {"CIRCLECI": "true", "CIRCLE_SHA1": SHA, "CIRCLE_BRANCH": "main"},
        {
            "CIRCLE_BUILD_URL": "https://circleci.com/gh/org/repo/5",
            "CIRCLE_REPOSITORY_URL": "https://github.com/org/repo.git",
        },
    ),
    "TEKTON_PIPELINE": (
        {
            "TEKTON_PIPELINE_RUN": "build-run-abc",
            "TEKTON_NAMESPACE": "ci",
            "TEKTON_TASK_RUN": "build-run-abc-build",
            "TEKTON_GIT_REVISION": SHA,
        },
        {
            "TEKTON_DASHBOARD_URL": "https://tekton.example.com/",
            "TEKTON_GIT_URL": "https://git.example.com/org/repo",
        },
    ),
    "TEAMCITY_PIPELINE": (
        {"TEAMCITY_PROJECT_NAME": "Skynet", "BUILD_NUMBER": "118", "BUILD_VCS_NUMBER": SHA},
        {"BUILD_URL": "https://teamcity.example.com/buildConfiguration/Skynet_Build/5531"},
    ),
    "BUILDKITE_PIPELINE": (
        {
            "BUILDKITE": "true",
            "BUILDKITE_BUILD_ID": "0190e3b4-7a2f-4c11-8d3e-5f6a7b8c9d01",
            "BUILDKITE_JOB_ID": "0190e3b4-7a31-47d2-b2a9-c3d4e5f60718",
            "BUILDKITE_COMMIT": SHA,
            "BUILDKITE_BRANCH": "main",
        },
        {
            "BUILDKITE_BUILD_URL": "https://buildkite.com/org/repo/builds/1204",
            "BUILDKITE_REPO": "https://github.com/org/repo.git",
        },
    ),
    "DAGGER_PIPELINE": (
        {"CHAINLOOP_DAGGER_CLIENT": "v1.6.2", "CI_PROJECT_PATH": "org/repo", "CI_COMMIT_SHA": SHA},
        {
            "CI_SERVER_URL": "https://gitlab.com",
            "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.com/org/repo",
        },
    ),
    "CHAINLOOP_SANDBOX": ({"CHAINLOOP_SANDBOX": "true"}, {}),
    "GENERIC": ({}, {}),
}
#: The repository URL each runner records, once its credential is stripped.
REPOSITORY = {
    "GITHUB_ACTION": "https://github.com/org/repo",
    "GITLAB_PIPELINE": "https://gitlab.com/org/repo",
    "AZURE_PIPELINE": "https://dev.azure.com/org/project/_git/repo",
    "JENKINS_JOB": "https://git.example.com/org/repo.git",
    "CIRCLECI_BUILD": "https://github.com/org/repo.git",
    "TEKTON_PIPELINE": "https://git.example.com/org/repo",
    "BUILDKITE_PIPELINE": "https://github.com/org/repo.git",
    "DAGGER_PIPELINE": "https://gitlab.com/org/repo",
}
AWS_KEY_ID = "AKIAZ7PLANTEDKEY0042"
AWS_SECRET = "q8Xm/PLANTEDsecretAccessKey+0123456789ab"
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJyZXBvOm9yZy9yZXBvIiwiYXVkIjoicGxhbnRlZCJ9."
    "c2lnbmF0dXJlUExBTlRFRHNpZ25hdHVyZQ"
)
#: Allow-listed variables holding credentials (besides a harmless one).
ALLOWED = {
    "DEPLOY_ENV": "prod",
    "MIRROR_URL": "https://mirror:PwMirrorPLANTED@mirror.example.com/simple",
    "AWS_PAIR": f"{AWS_KEY_ID}:{AWS_SECRET}",
    "SESSION_TOKEN": JWT,
    "NOTE": "deploy with glpat-PLANTEDnote0123456789 please",
    "GIT_REMOTE": "bot:PwBareRemotePLANTED@git.example.com/org/repo.git",
}
CONTRACT = f"""\
apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: any-runner
spec:
  materials:
    - {{type: CONTAINER_IMAGE, name: image, output: true}}
    - {{type: SBOM_CYCLONEDX_JSON, name: sbom}}
  envAllowList: [{", ".join(ALLOWED)}]
"""
ANNOTATION_SECRETS = {
    "init": ("ticket", "https://jira:PwInitAnnotationPLANTED@jira.example.com/browse/X-1"),
    "add": ("source", "ghp_PLANTEDmaterialAnnotation0123456789"),
    "push": ("approver", "https://approver:PwPushAnnotationPLANTED@sso.example.com/"),
}
REASON = "clone of https://bot:PwResetReasonPLANTED@git.example.com/org/repo.git failed"
PLANTED = [
    "PwMirrorPLANTED",
    AWS_KEY_ID,
    AWS_SECRET,
    JWT,
    "glpat-PLANTEDnote0123456789",
    "PwBareRemotePLANTED",
    "PwInitAnnotationPLANTED",
    "ghp_PLANTEDmaterialAnnotation0123456789",
    "PwPushAnnotationPLANTED",
    "PwResetReasonPLANTED",
]


def _runner_env(runner: str) -> tuple[dict[str, str], list[str]]:
    plain, urls = RUNNERS[runner]
    env, secrets = {**plain, **ALLOWED}, list(PLANTED)
    for shape, (name, url) in enumerate(sorted(urls.items())):
        env[name], secret = _plant(url, shape, f"{runner[:3]}{shape}")
        secrets.append(secret)
    return env, secrets


def _ok(result: Result, outputs: list[str]) -> str:
    assert result.code == 0, result.err
    outputs += [result.out, result.err]
    return result.out


def _collect(tmp: Path, store: str, env: dict[str, str], workflow: str) -> list[str]:
    """A complete run and a failed run through the CLI; returns everything printed."""
    (tmp / "contract.yaml").write_text(CONTRACT)
    (tmp / "sbom.json").write_text(json.dumps(SBOM))
    out: list[str] = []
    _ok(run_cli(tmp, "keys", "generate", "--out", "ci"), out)
    name, value = ANNOTATION_SECRETS["init"]
    init = ("attest", "init", "--contract", "contract.yaml", "--project", "skynet")
    keyed = ("--to", store, "--key", "ci.key")
    _ok(run_cli(tmp, *init, "--workflow", workflow, *keyed, "-a", f"{name}={value}", env=env), out)
    _ok(run_cli(tmp, "attest", "add", "--name", "image", "--value", IMAGE, env=env), out)
    name, value = ANNOTATION_SECRETS["add"]
    add = ("attest", "add", "--value", "sbom.json", "-a", f"{name}={value}")
    _ok(run_cli(tmp, *add, env=env), out)
    name, value = ANNOTATION_SECRETS["push"]
    push = ("attest", "push", "--provenance", "--bundle-out", "bundle.json")
    _ok(run_cli(tmp, *push, "-a", f"{name}={value}", env=env), out)
    _ok(run_cli(tmp, "attest", "status", "--json", env=env), out)
    failed = ("--workflow", f"{workflow}-test", *keyed, "--state", "s2")
    _ok(run_cli(tmp, *init, *failed, env=env), out)
    reset = ("attest", "reset", "--trigger", "failure", "--state", "s2")
    _ok(run_cli(tmp, *reset, "--reason", REASON, env=env), out)
    return out


def _assert_nowhere(secrets: list[str], where: dict[str, bytes]) -> None:
    for secret in secrets:
        for form in (secret.encode(), base64.b64encode(secret.encode())):
            leaked = [name for name, data in where.items() if form in data]
            assert not leaked, f"{secret!r} leaked into {leaked}"


def _written(tmp: Path) -> dict[str, bytes]:
    return {
        "state file": (tmp / ".attestlake" / "attestation.json").read_bytes(),
        "reset state file": (tmp / "s2").read_bytes(),
        "--bundle-out": (tmp / "bundle.json").read_bytes(),
    }


@pytest.mark.attack("secret")
@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_credentials_in_runner_urls_allow_listed_values_and_annotations_never_leave_the_runner(
    tmp_path: Path, runner: str
) -> None:
    env, secrets = _runner_env(runner)

    printed = _collect(tmp_path, "oci:store", env, "build")

    everything = all_bytes(tmp_path / "store")
    _assert_nowhere(
        secrets,
        {"store": everything, **_written(tmp_path), "stdout/stderr": "".join(printed).encode()},
    )
    statement = [p for p in everything.split(b"\n") if b'"predicateType"' in p]
    assert statement, "no signed statement found in the store"
    assert f'"type":"{runner}"'.encode() in everything
    assert b'"DEPLOY_ENV":"prod"' in everything  # what is not a credential is recorded
    assert b"https://mirror.example.com/simple" in everything  # the URL, without its password
    if runner in REPOSITORY:  # the repository is still recorded, without its credential
        assert f'"repository":"{REPOSITORY[runner]}"'.encode() in everything
    state = json.loads((tmp_path / ".attestlake" / "attestation.json").read_text())
    assert state["annotations"]["ticket"] == "https://jira.example.com/browse/X-1"
    assert state["annotations"]["approver"] == "https://sso.example.com/"


@pytest.mark.attack("secret")
@pytest.mark.registry
def test_a_token_in_the_jenkins_git_url_never_reaches_the_registry(
    tmp_path: Path, registry: RegistryServer
) -> None:
    env, secrets = _runner_env("JENKINS_JOB")
    token = "ghp_JenkinsRegistryPLANTED0123456789abcd"
    env["GIT_URL"] = f"https://user:{token}@github.com/org/repo.git"

    printed = _collect(tmp_path, f"{registry.host}/secrets/jenkins", env, "build")

    stored = all_bytes(registry.workdir / "data")
    assert b'"repository":"https://github.com/org/repo.git"' in stored
    _assert_nowhere(
        [*secrets, token],
        {"registry": stored, **_written(tmp_path), "stdout/stderr": "".join(printed).encode()},
    )


# -- store references with credentials ---------------------------------------------------------
PASSWORD = "Sup3rS3cretPLANTEDpw"
REFERENCES = [
    f"http://user:{PASSWORD}@127.0.0.1:5000/attestations",
    f"https://user:{PASSWORD}@registry.example.com/attestations",
    f"user:{PASSWORD}@registry.example.com/attestations",
    f"https://{PASSWORD}@registry.example.com/attestations",
    f"https://user:{PASSWORD}\"'\\@registry.example.com/attestations",
]


def _refused(result: Result) -> None:
    assert result.code == 1, (result.code, result.out, result.err)
    assert PASSWORD not in result.out + result.err
    assert "ATTESTLAKE_REGISTRY_PASSWORD" in result.err, result.err


@pytest.mark.attack("secret")
@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
@pytest.mark.parametrize("ref", REFERENCES, ids=["http", "https", "bare", "token-user", "quotes"])
def test_a_password_in_a_from_or_to_reference_is_refused_and_never_printed(
    tmp_path: Path, ref: str, verbose: bool
) -> None:
    """Every command given the reference refuses it without printing the password. With
    ``--verbose`` (a traceback is printed) the first form runs every command as a whole
    process; the others run in this process, with file descriptors 1 and 2 captured too."""
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    (tmp_path / "contract.yaml").write_text(CONTRACT)
    (tmp_path / "workflows.yaml").write_text("workflows: []\n")
    v = ("--verbose",) if verbose else ()
    cli = run_cli_process if verbose and ref == REFERENCES[0] else run_cli
    every_repository = ref.rsplit("/", 1)[0] + "/*"
    commands = [
        ("crawl", "--from", ref, "--lake", "lake", "--trust", "trust.yaml"),
        ("crawl", "--from", every_repository, "--lake", "lake", "--trust", "trust.yaml"),
        ("contract", "list", "--from", ref),
        ("contract", "push", "contract.yaml", "--to", ref, "--unsigned"),
        ("contract", "pull", f"{ref}#any-runner", "--out", "c.yaml"),
        ("inventory", "pull", "--from", ref, "--out", "w.yaml"),
        ("attest", "init", "--contract", f"{ref}#any-runner", "--workflow", "w", "--project", "p"),
    ]
    for args in commands:
        result = cli(tmp_path, *v, *args)
        _refused(result)
    assert not (tmp_path / "lake").exists()  # nothing half-written

    init = ("attest", "init", "--contract", "contract.yaml", "--workflow", "w", "--project", "p")
    for extra, env in (
        (("--to", ref), {}),
        ((), {"ATTESTLAKE_STORE": ref}),
        (("--to", ref, "--key", "missing.key"), {}),
    ):
        _refused(cli(tmp_path, *v, *init, *extra, env=env))
        state = tmp_path / ".attestlake" / "attestation.json"
        assert not state.exists() or PASSWORD not in state.read_text()

    assert run_cli(tmp_path, "keys", "generate", "--out", "ci").code == 0
    assert run_cli(tmp_path, *init, "--key", "ci.key").code == 0  # a run, no store yet
    for args in (("attest", "push", "--to", ref), ("attest", "reset", "--to", ref)):
        _refused(cli(tmp_path, *v, *args))
    assert PASSWORD not in (tmp_path / ".attestlake" / "attestation.json").read_text()


# -- each credential shape ---------------------------------------------------------------------
SHAPES = {
    "github classic token": "ghp_R4nd0mT0kenValue0123456789abcdefABCD",
    "github oauth token": "gho_R4nd0mT0kenValue0123456789abcdefABCD",
    "github installation token": "ghs_R4nd0mT0kenValue0123456789abcdefABCD",
    "github user-to-server token": "ghu_R4nd0mT0kenValue0123456789abcdefABCD",
    "github fine-grained token": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz01",
    "gitlab personal token": "glpat-R4nd0mT0kenValue01234",
    "aws access key id": "AKIAIOSFODNN7EXAMPLE",
    "aws session key id": "ASIAIOSFODNN7EXAMPLE",
    "jwt": JWT,
}


@pytest.mark.attack("secret")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_credential_shape_is_redacted_alone_and_in_text(shape: str) -> None:
    secret = SHAPES[shape]
    for text in (
        secret,
        f"token={secret}",
        f"export TOKEN='{secret}'",
        f"https://{secret}@github.com/org/repo.git",
        f"https://oauth2:{secret}@gitlab.example.com/org/repo.git",
    ):
        redacted = redact(text)
        assert secret not in redacted, (text, redacted)
    assert redact(f"use {secret} here") == f"use {REDACTED} here"


@pytest.mark.attack("secret")
@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("https://user:hunter2@host.example/repo", "hunter2", "https://host.example/repo"),
        ("http://u:p%40ss@127.0.0.1:5000/x", "p%40ss", "http://127.0.0.1:5000/x"),
        ("https://u:p@ss@host.example/x", "p@ss", "https://host.example/x"),
        ("git+https://bot:s3cret@git.example/r.git", "s3cret", "git+https://git.example/r.git"),
        ("ssh://git:s3cret@github.com/org/repo", "s3cret", "ssh://github.com/org/repo"),
        ("bot:s3cret@git.example.com/org/repo", "s3cret", "[REDACTED]@git.example.com/org/repo"),
        ("https://h.example/x?access_token=s3cret&a=1", "s3cret", "access_token=[REDACTED]&a=1"),
        ("https://blob.example/c?sv=1&sig=s3cret", "s3cret", "https://blob.example/c?sv=1&sig="),
        (
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SECRET_ACCESS_KEY=",
        ),
        (
            "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "[REDACTED] [REDACTED]",
        ),
    ],
)
def test_generic_credentials_are_redacted(text: str, secret: str, kept: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert kept in redacted
