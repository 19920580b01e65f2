"""discover: which CI runner, what it says about the run, and that no secret is ever recorded."""

from __future__ import annotations

import json
import os

import pytest

from attestlake.evidence.runners import GENERIC, RUNNER_TYPES, discover
from tests import assets

SHA = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"

GITHUB = assets.env("ci/github-push-main-org-repo.json")

GITLAB = assets.env("ci/gitlab-merge-request.json")

AZURE = assets.env("ci/azure-individual-ci-main.json")

JENKINS = assets.env("ci/jenkins-branch-main.json")

CIRCLECI = assets.env("ci/circleci-branch-main.json")

TEKTON = assets.env("ci/tekton-pipeline-run.json")

TEAMCITY = assets.env("ci/teamcity-build-main.json")

BUILDKITE = assets.env("ci/buildkite-pull-request.json")

DAGGER = assets.env("ci/dagger-in-gitlab-merge-request.json")

SANDBOX = assets.env("ci/chainloop-sandbox.json")

SECRETS = {
    "GITHUB_TOKEN": "ghs_SecretGitHubToken0123456789abcdef",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "MY_CUSTOM_SECRET": "hunter2-very-private-value",
}


def test_github_actions() -> None:
    ctx = discover(GITHUB)

    assert ctx.type == "GITHUB_ACTION"
    assert ctx.url == "https://github.com/org/repo/actions/runs/123"
    assert ctx.repository == "https://github.com/org/repo"
    assert ctx.commit == SHA
    assert ctx.ref == "refs/heads/main"
    assert ctx.actor == "octocat"
    assert ctx.event == "push"
    assert ctx.environment["GITHUB_RUN_ID"] == "123"
    assert ctx.environment["RUNNER_OS"] == "Linux"


def test_github_enterprise_server_url() -> None:
    env = {**GITHUB, "GITHUB_SERVER_URL": "https://github.example.com"}
    ctx = discover(env)
    assert ctx.url == "https://github.example.com/org/repo/actions/runs/123"
    assert ctx.repository == "https://github.example.com/org/repo"


def test_gitlab() -> None:
    ctx = discover(GITLAB)
    assert ctx.type == "GITLAB_PIPELINE"
    assert ctx.url == "https://gitlab.com/org/repo/-/jobs/42"
    assert ctx.repository == "https://gitlab.com/org/repo"
    assert ctx.commit == SHA
    assert ctx.ref == "main"
    assert ctx.actor == "alice"
    assert ctx.event == "merge_request_event"


def test_azure() -> None:
    ctx = discover(AZURE)
    assert ctx.type == "AZURE_PIPELINE"
    assert ctx.url == "vstfs:///Build/Build/77"
    assert ctx.repository == "https://dev.azure.com/org/project/_git/repo"
    assert ctx.commit == SHA
    assert ctx.ref == "refs/heads/main"
    assert ctx.actor == "Bob"
    assert ctx.event == "IndividualCI"


def test_jenkins() -> None:
    ctx = discover(JENKINS)
    assert ctx.type == "JENKINS_JOB"
    assert ctx.url == "https://jenkins.example.com/job/app/9/"
    assert ctx.repository == "https://git.example.com/org/repo.git"
    assert ctx.commit == SHA
    assert ctx.ref == "origin/main"
    assert ctx.environment["JOB_NAME"] == "app"


def test_circleci() -> None:
    ctx = discover(CIRCLECI)
    assert ctx.type == "CIRCLECI_BUILD"
    assert ctx.url == "https://circleci.com/gh/org/repo/5"
    assert ctx.repository == "git@github.com:org/repo.git"
    assert ctx.commit == SHA
    assert ctx.ref == "main"
    assert ctx.actor == "carol"


def test_circleci_tag_build_uses_the_tag_as_ref() -> None:
    env = {k: v for k, v in CIRCLECI.items() if k != "CIRCLE_BRANCH"}
    assert discover({**env, "CIRCLE_TAG": "v1.0.0"}).ref == "v1.0.0"


def test_tekton() -> None:
    ctx = discover(TEKTON)
    assert ctx.type == "TEKTON_PIPELINE"
    assert ctx.repository == "https://git.example.com/org/repo"
    assert ctx.commit == SHA
    assert ctx.environment["TEKTON_PIPELINE"] == "build"


def test_generic_fallback_with_empty_env() -> None:
    ctx = discover({})
    assert ctx.type == GENERIC
    assert ctx.to_json() == {
        "type": "GENERIC",
        "url": None,
        "repository": None,
        "commit": None,
        "ref": None,
        "actor": None,
        "event": None,
        "environment": {},
    }


def test_generic_fallback_ignores_unrelated_environment() -> None:
    ctx = discover({"HOME": "/home/me", "PATH": "/usr/bin", "USER": "me"})
    assert ctx.type == GENERIC
    assert ctx.environment == {}


def test_marker_variable_must_be_non_empty() -> None:
    assert discover({**GITHUB, "GITHUB_ACTIONS": ""}).type == GENERIC


def test_teamcity() -> None:
    ctx = discover(TEAMCITY)
    assert ctx.type == "TEAMCITY_PIPELINE"
    assert ctx.url == "https://teamcity.cyberdyne.example/buildConfiguration/Skynet_Build/5531"
    assert ctx.commit == SHA
    assert ctx.environment["TEAMCITY_PROJECT_NAME"] == "Skynet"
    assert ctx.environment["BUILD_NUMBER"] == "118"
    # Only the variables Chainloop's TeamCity runner reads are recorded.
    assert "TEAMCITY_BUILD_PROPERTIES_FILE" not in ctx.environment
    assert "AGENT_HOME_DIR" not in ctx.environment


def test_buildkite_pull_request() -> None:
    ctx = discover(BUILDKITE)
    assert ctx.type == "BUILDKITE_PIPELINE"
    assert ctx.url == "https://buildkite.com/cyberdyne/skynet/builds/1204"
    assert ctx.repository == "git@github.com:cyberdyne/skynet.git"
    assert ctx.commit == SHA
    assert ctx.ref == "fix/rapid-reset"  # an empty BUILDKITE_TAG is no tag
    assert ctx.actor == "miles@cyberdyne.example"
    assert ctx.event == "pull_request"
    assert ctx.environment["BUILDKITE_PULL_REQUEST"] == "17"
    assert "BUILDKITE_AGENT_ACCESS_TOKEN" not in ctx.environment
    assert "PLANTED" not in json.dumps(ctx.to_json())


def test_buildkite_tag_build_and_its_source() -> None:
    env = {**BUILDKITE, "BUILDKITE_TAG": "v2.1.0", "BUILDKITE_PULL_REQUEST": "false"}
    env["BUILDKITE_SOURCE"] = "ui"
    ctx = discover(env)
    assert (ctx.ref, ctx.event) == ("v2.1.0", "ui")


def test_dagger_inside_gitlab_is_dagger() -> None:
    ctx = discover(DAGGER)
    assert ctx.type == "DAGGER_PIPELINE"  # not GITLAB_PIPELINE, although GITLAB_CI is set
    assert ctx.url is None
    assert ctx.repository == "https://gitlab.com/cyberdyne/skynet"
    assert ctx.commit == SHA
    assert ctx.ref == "feat/t-800"
    assert ctx.event == "merge_request_event"
    assert ctx.environment["CHAINLOOP_DAGGER_CLIENT"] == "v1.6.2"
    assert "CI_JOB_TOKEN" not in ctx.environment
    assert "CI_JOB_URL" not in ctx.environment


def test_dagger_inside_github_actions_is_dagger() -> None:
    ctx = discover({**GITHUB, "CHAINLOOP_DAGGER_CLIENT": "v1.6.2"})
    assert ctx.type == "DAGGER_PIPELINE"
    assert ctx.repository == "https://github.com/org/repo"
    assert ctx.commit == SHA


def test_chainloop_sandbox_records_no_variable_of_its_own() -> None:
    ctx = discover(SANDBOX)
    assert ctx.type == "CHAINLOOP_SANDBOX"
    assert ctx.environment == {}


#: Chainloop's CraftingSchema.Runner.RunnerType (workflowcontract/v1/crafting_schema.proto).
CHAINLOOP_RUNNER_TYPES = {
    *("GITHUB_ACTION", "GITLAB_PIPELINE", "AZURE_PIPELINE", "JENKINS_JOB", "CIRCLECI_BUILD"),
    *("DAGGER_PIPELINE", "TEAMCITY_PIPELINE", "TEKTON_PIPELINE", "CHAINLOOP_SANDBOX"),
}
EVERY_RUNNER = (GITHUB, GITLAB, AZURE, JENKINS, CIRCLECI, TEKTON, TEAMCITY, BUILDKITE, DAGGER)


def test_every_runner_type_is_known() -> None:
    found = {discover(env).type for env in (*EVERY_RUNNER, SANDBOX)}
    assert found | {GENERIC} == set(RUNNER_TYPES)
    assert set(RUNNER_TYPES) >= CHAINLOOP_RUNNER_TYPES
    assert set(RUNNER_TYPES) - CHAINLOOP_RUNNER_TYPES == {"BUILDKITE_PIPELINE", GENERIC}


def test_allow_list_adds_variables() -> None:
    env = {**GITHUB, "DEPLOY_ENV": "prod", "REGION": "eu-west-1", "NOT_ALLOWED": "x"}
    ctx = discover(env, ("DEPLOY_ENV", "REGION", "UNSET_VAR"))
    assert ctx.environment["DEPLOY_ENV"] == "prod"
    assert ctx.environment["REGION"] == "eu-west-1"
    assert "UNSET_VAR" not in ctx.environment
    assert "NOT_ALLOWED" not in ctx.environment


def test_allow_list_applies_to_generic_runner() -> None:
    ctx = discover({"DEPLOY_ENV": "staging", "OTHER": "x"}, ("DEPLOY_ENV",))
    assert ctx.type == GENERIC
    assert ctx.environment == {"DEPLOY_ENV": "staging"}


def test_to_json_environment_is_sorted() -> None:
    out = discover(GITHUB, ("AAA",)).to_json()
    env = out["environment"]
    assert isinstance(env, dict)
    assert list(env) == sorted(env)


@pytest.mark.parametrize(
    "runner_env",
    [*EVERY_RUNNER, SANDBOX, {}],
    ids=[
        *("github", "gitlab", "azure", "jenkins", "circleci", "tekton", "teamcity"),
        *("buildkite", "dagger", "sandbox", "generic"),
    ],
)
def test_secrets_never_recorded(runner_env: dict[str, str]) -> None:
    env = {**runner_env, **SECRETS}

    ctx = discover(env, ("DEPLOY_ENV",))
    serialised = json.dumps(ctx.to_json())

    for name, value in SECRETS.items():
        assert value not in serialised, name
        assert name not in serialised, name


def test_secrets_never_recorded_from_the_real_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {**GITHUB, **SECRETS}.items():
        monkeypatch.setenv(key, value)

    serialised = json.dumps(discover(os.environ).to_json())

    assert "https://github.com/org/repo/actions/runs/123" in serialised
    for value in SECRETS.values():
        assert value not in serialised


# --- run URLs and job identity -------------------------------------------------------------
def test_azure_web_url_when_the_collection_is_known() -> None:
    env = {
        **AZURE,
        "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": "https://dev.azure.com/org/",
        "SYSTEM_TEAMPROJECT": "project",
        "BUILD_BUILDID": "77",
    }
    assert discover(env).url == "https://dev.azure.com/org/project/_build/results?buildId=77"


def test_tekton_dashboard_url() -> None:
    env = {**TEKTON, "TEKTON_DASHBOARD_URL": "https://tekton.example/", "TEKTON_NAMESPACE": "ci"}
    ctx = discover(env)
    assert ctx.url == "https://tekton.example/#/namespaces/ci/pipelineruns/build-run-abc"


def test_jenkins_actor_and_pull_request_event() -> None:
    ctx = discover({**JENKINS, "CHANGE_ID": "12", "CHANGE_AUTHOR": "dave"})
    assert (ctx.actor, ctx.event) == ("dave", "pull_request")


@pytest.mark.parametrize(
    "env",
    [
        {**GITHUB, "GITHUB_JOB": "build"},
        {**GITLAB, "CI_JOB_ID": "42"},
        {**AZURE, "BUILD_BUILDID": "77"},
        JENKINS,
        CIRCLECI,
        TEKTON,
        TEAMCITY,
        BUILDKITE,
    ],
    ids=["github", "gitlab", "azure", "jenkins", "circleci", "tekton", "teamcity", "buildkite"],
)
def test_job_key_names_one_job_of_one_run(env: dict[str, str]) -> None:
    from attestlake.evidence.runners import job_key

    key = job_key(discover(env))
    assert key is not None and key.startswith(discover(env).type)
    assert job_key(discover(env)) == key  # the same for every step of the job
    assert all(secret not in key for secret in SECRETS.values())


def test_job_key_of_a_github_retry_differs() -> None:
    from attestlake.evidence.runners import job_key

    first = job_key(discover(GITHUB))
    assert first != job_key(discover({**GITHUB, "GITHUB_RUN_ATTEMPT": "2"}))


def test_no_job_key_without_the_run_identity() -> None:
    from attestlake.evidence.runners import job_key

    assert job_key(discover({})) is None
    assert job_key(discover({"GITHUB_ACTIONS": "true"})) is None


def test_job_key_of_a_buildkite_retry_differs() -> None:
    from attestlake.evidence.runners import job_key

    retried = {**BUILDKITE, "BUILDKITE_JOB_ID": "0190e3b4-9c00-4f00-8a00-000000000001"}
    assert job_key(discover(BUILDKITE)) != job_key(discover(retried))


def test_dagger_and_the_sandbox_name_no_job() -> None:
    from attestlake.evidence.runners import job_key

    assert job_key(discover(DAGGER)) is None
    assert job_key(discover(SANDBOX)) is None
