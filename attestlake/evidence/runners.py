"""Runners: which CI system is running the collector, and what it says about the run.

Each runner is detected from its own environment variables and records only those variables
(plus the contract's ``envAllowList``) in a
:class:`~attestlake.evidence.runner_context.RunnerContext`: nothing else from the environment
ever leaves the runner, so secrets such as ``GITHUB_TOKEN`` are never recorded, and every
recorded value passes through :func:`attestlake.redaction.redact`. The variables read per
runner follow Chainloop's ``pkg/attestation/crafter/runners`` (see ``docs/collector.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from attestlake.evidence.runner_context import RunnerContext
from attestlake.redaction import redact

GENERIC = "GENERIC"


@dataclass(frozen=True)
class _Runner:
    type: str
    detect: str  # an environment variable whose presence identifies the runner
    variables: tuple[str, ...]
    build: Callable[[Mapping[str, str]], dict[str, str | None]]
    #: Variables that together name one job of one CI run (the first one must be set).
    job_key: tuple[str, ...] = ()


def _github(env: Mapping[str, str]) -> dict[str, str | None]:
    server, repo, run = (
        env.get("GITHUB_SERVER_URL", "https://github.com"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    return {
        "url": f"{server}/{repo}/actions/runs/{run}" if repo and run else None,
        "repository": f"{server}/{repo}" if repo else None,
        "commit": env.get("GITHUB_SHA"),
        "ref": env.get("GITHUB_REF"),
        "actor": env.get("GITHUB_ACTOR"),
        "event": env.get("GITHUB_EVENT_NAME"),
    }


def _gitlab(env: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "url": env.get("CI_JOB_URL"),
        "repository": env.get("CI_PROJECT_URL"),
        "commit": env.get("CI_COMMIT_SHA"),
        "ref": env.get("CI_COMMIT_REF_NAME"),
        "actor": env.get("GITLAB_USER_LOGIN"),
        "event": env.get("CI_PIPELINE_SOURCE"),
    }


def _azure(env: Mapping[str, str]) -> dict[str, str | None]:
    collection, project, build = (
        env.get("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"),
        env.get("SYSTEM_TEAMPROJECT"),
        env.get("BUILD_BUILDID"),
    )
    web = (
        f"{collection.rstrip('/')}/{project}/_build/results?buildId={build}"
        if collection and project and build
        else None
    )
    return {
        "url": web or env.get("BUILD_BUILDURI"),
        "repository": env.get("BUILD_REPOSITORY_URI"),
        "commit": env.get("BUILD_SOURCEVERSION"),
        "ref": env.get("BUILD_SOURCEBRANCH"),
        "actor": env.get("BUILD_REQUESTEDFOR"),
        "event": env.get("BUILD_REASON"),
    }


def _jenkins(env: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "url": env.get("BUILD_URL"),
        "repository": env.get("GIT_URL"),
        "commit": env.get("GIT_COMMIT"),
        "ref": env.get("GIT_BRANCH"),
        "actor": env.get("BUILD_USER_ID") or env.get("CHANGE_AUTHOR"),
        "event": "pull_request" if env.get("CHANGE_ID") else None,
    }


def _circleci(env: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "url": env.get("CIRCLE_BUILD_URL"),
        "repository": env.get("CIRCLE_REPOSITORY_URL"),
        "commit": env.get("CIRCLE_SHA1"),
        "ref": env.get("CIRCLE_BRANCH") or env.get("CIRCLE_TAG"),
        "actor": env.get("CIRCLE_USERNAME"),
        "event": None,
    }


def _tekton(env: Mapping[str, str]) -> dict[str, str | None]:
    dashboard, namespace, run = (
        env.get("TEKTON_DASHBOARD_URL"),
        env.get("TEKTON_NAMESPACE"),
        env.get("TEKTON_PIPELINE_RUN"),
    )
    return {
        "url": (
            f"{dashboard.rstrip('/')}/#/namespaces/{namespace}/pipelineruns/{run}"
            if dashboard and namespace and run
            else None
        ),
        "repository": env.get("TEKTON_GIT_URL"),
        "commit": env.get("TEKTON_GIT_REVISION"),
        "ref": None,
        "actor": None,
        "event": None,
    }


def _dagger(env: Mapping[str, str]) -> dict[str, str | None]:
    """Dagger runs inside another CI (Chainloop's Dagger module sets the marker): what that
    CI says about the repository, commit and event; no run URL of its own."""
    gitlab = env.get("CI_SERVER_URL"), env.get("CI_PROJECT_PATH")
    github = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY")
    return {
        "url": None,
        "repository": (
            f"{gitlab[0].rstrip('/')}/{gitlab[1]}"
            if gitlab[0] and gitlab[1]
            else (f"{github[0]}/{github[1]}" if github[1] else None)
        ),
        "commit": env.get("GITHUB_SHA") or env.get("CI_COMMIT_SHA"),
        "ref": env.get("GITHUB_HEAD_REF") or env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
        "actor": env.get("GITLAB_USER_LOGIN"),
        "event": env.get("GITHUB_EVENT_NAME") or env.get("CI_PIPELINE_SOURCE"),
    }


def _teamcity(env: Mapping[str, str]) -> dict[str, str | None]:
    return {
        "url": env.get("BUILD_URL"),
        "repository": None,
        "commit": env.get("BUILD_VCS_NUMBER"),
        "ref": None,
        "actor": None,
        "event": None,
    }


def _buildkite(env: Mapping[str, str]) -> dict[str, str | None]:
    pull_request = env.get("BUILDKITE_PULL_REQUEST")
    return {
        "url": env.get("BUILDKITE_BUILD_URL"),
        "repository": env.get("BUILDKITE_REPO"),
        "commit": env.get("BUILDKITE_COMMIT"),
        "ref": env.get("BUILDKITE_TAG") or env.get("BUILDKITE_BRANCH"),
        "actor": env.get("BUILDKITE_BUILD_CREATOR_EMAIL") or env.get("BUILDKITE_BUILD_CREATOR"),
        "event": (
            "pull_request"
            if pull_request and pull_request != "false"
            else env.get("BUILDKITE_SOURCE")
        ),
    }


def _nothing(env: Mapping[str, str]) -> dict[str, str | None]:
    return {}


_DAGGER = _Runner(
    "DAGGER_PIPELINE",
    "CHAINLOOP_DAGGER_CLIENT",
    (
        *("CHAINLOOP_DAGGER_CLIENT", "GITHUB_EVENT_NAME", "GITHUB_HEAD_REF", "GITHUB_BASE_REF"),
        *("CI_PIPELINE_SOURCE", "CI_MERGE_REQUEST_IID", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
        *("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_MERGE_REQUEST_PROJECT_URL"),
        *("CI_MERGE_REQUEST_PROJECT_PATH", "CI_SERVER_URL", "CI_PROJECT_PATH"),
        *("GITLAB_USER_LOGIN", "CI_COMMIT_SHA"),
        *("GITHUB_REPOSITORY", "GITHUB_SERVER_URL", "GITHUB_SHA"),
    ),
    _dagger,
)

_RUNNERS: tuple[_Runner, ...] = (
    _DAGGER,  # first: a Dagger pipeline runs inside another CI, whose variables are set too
    _Runner(
        "GITHUB_ACTION",
        "GITHUB_ACTIONS",
        (
            "GITHUB_ACTOR",
            "GITHUB_REF",
            "GITHUB_REPOSITORY",
            "GITHUB_REPOSITORY_OWNER",
            "GITHUB_RUN_ID",
            "GITHUB_RUN_ATTEMPT",
            "GITHUB_SHA",
            "GITHUB_EVENT_NAME",
            "GITHUB_WORKFLOW",
            "GITHUB_WORKFLOW_REF",
            "GITHUB_WORKFLOW_SHA",
            "GITHUB_JOB",
            "GITHUB_HEAD_REF",
            "GITHUB_BASE_REF",
            "GITHUB_SERVER_URL",
            "RUNNER_NAME",
            "RUNNER_OS",
            "RUNNER_ARCH",
            "RUNNER_ENVIRONMENT",
        ),
        _github,
        (
            "GITHUB_RUN_ID",
            "GITHUB_SERVER_URL",
            "GITHUB_REPOSITORY",
            "GITHUB_RUN_ATTEMPT",
            "GITHUB_JOB",
        ),
    ),
    _Runner(
        "GITLAB_PIPELINE",
        "GITLAB_CI",
        (
            "GITLAB_USER_EMAIL",
            "GITLAB_USER_LOGIN",
            "CI_PROJECT_URL",
            "CI_COMMIT_SHA",
            "CI_JOB_URL",
            "CI_PIPELINE_URL",
            "CI_RUNNER_VERSION",
            "CI_RUNNER_DESCRIPTION",
            "CI_COMMIT_REF_NAME",
            "CI_PIPELINE_SOURCE",
            "CI_PIPELINE_ID",
            "CI_JOB_ID",
            "CI_JOB_NAME",
            "CI_PROJECT_PATH",
            "CI_SERVER_URL",
            "CI_CONFIG_PATH",
        ),
        _gitlab,
        ("CI_JOB_ID", "CI_SERVER_URL", "CI_PROJECT_PATH"),
    ),
    _Runner(
        "AZURE_PIPELINE",
        "TF_BUILD",
        (
            "BUILD_REQUESTEDFOREMAIL",
            "BUILD_REQUESTEDFOR",
            "BUILD_REPOSITORY_URI",
            "BUILD_REPOSITORY_NAME",
            "BUILD_BUILDID",
            "BUILD_BUILDNUMBER",
            "BUILD_BUILDURI",
            "BUILD_REASON",
            "BUILD_SOURCEVERSION",
            "BUILD_SOURCEBRANCH",
            "AGENT_VERSION",
            "TF_BUILD",
            "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
            "SYSTEM_TEAMPROJECT",
            "SYSTEM_JOBID",
            "SYSTEM_JOBATTEMPT",
            "BUILD_DEFINITIONNAME",
        ),
        _azure,
        (
            "BUILD_BUILDID",
            "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
            "SYSTEM_TEAMPROJECT",
            "SYSTEM_JOBID",
            "SYSTEM_JOBATTEMPT",
        ),
    ),
    _Runner(
        "JENKINS_JOB",
        "JENKINS_URL",
        (
            "JOB_NAME",
            "BUILD_URL",
            "GIT_BRANCH",
            "GIT_COMMIT",
            "GIT_URL",
            "AGENT_WORKDIR",
            "NODE_NAME",
            "BUILD_NUMBER",
            "BUILD_TAG",
            "BUILD_USER_ID",
            "CHANGE_ID",
            "CHANGE_AUTHOR",
        ),
        _jenkins,
        ("BUILD_URL", "BUILD_TAG"),
    ),
    _Runner(
        "CIRCLECI_BUILD",
        "CIRCLECI",
        (
            "CIRCLE_BUILD_URL",
            "CIRCLE_JOB",
            "CIRCLE_BRANCH",
            "CIRCLE_TAG",
            "CIRCLE_SHA1",
            "CIRCLE_REPOSITORY_URL",
            "CIRCLE_USERNAME",
            "CIRCLE_NODE_TOTAL",
            "CIRCLE_NODE_INDEX",
            "CIRCLE_WORKFLOW_ID",
            "CIRCLE_WORKFLOW_JOB_ID",
            "CIRCLE_PROJECT_USERNAME",
            "CIRCLE_PROJECT_REPONAME",
        ),
        _circleci,
        ("CIRCLE_BUILD_URL", "CIRCLE_WORKFLOW_JOB_ID", "CIRCLE_NODE_INDEX"),
    ),
    _Runner(
        "TEKTON_PIPELINE",
        "TEKTON_PIPELINE_RUN",
        (
            "TEKTON_PIPELINE_RUN",
            "TEKTON_PIPELINE",
            "TEKTON_TASK_RUN",
            "TEKTON_NAMESPACE",
            "TEKTON_DASHBOARD_URL",
            "TEKTON_GIT_URL",
            "TEKTON_GIT_REVISION",
        ),
        _tekton,
        ("TEKTON_PIPELINE_RUN", "TEKTON_NAMESPACE", "TEKTON_TASK_RUN"),
    ),
    _Runner(
        "TEAMCITY_PIPELINE",
        "TEAMCITY_PROJECT_NAME",
        (
            *("BUILD_URL", "TEAMCITY_PROJECT_NAME", "TEAMCITY_VERSION", "BUILD_NUMBER"),
            *("USER", "TEAMCITY_GIT_VERSION", "BUILD_VCS_NUMBER", "HOME"),
        ),
        _teamcity,
        ("BUILD_URL", "TEAMCITY_PROJECT_NAME", "BUILD_NUMBER"),
    ),
    _Runner(
        "BUILDKITE_PIPELINE",
        "BUILDKITE",
        (
            *("BUILDKITE_BUILD_URL", "BUILDKITE_BUILD_ID", "BUILDKITE_BUILD_NUMBER"),
            *("BUILDKITE_JOB_ID", "BUILDKITE_RETRY_COUNT", "BUILDKITE_LABEL", "BUILDKITE_STEP_KEY"),
            *("BUILDKITE_PIPELINE_SLUG", "BUILDKITE_ORGANIZATION_SLUG", "BUILDKITE_REPO"),
            *("BUILDKITE_COMMIT", "BUILDKITE_BRANCH", "BUILDKITE_TAG", "BUILDKITE_SOURCE"),
            *("BUILDKITE_PULL_REQUEST", "BUILDKITE_PULL_REQUEST_BASE_BRANCH"),
            *("BUILDKITE_BUILD_CREATOR", "BUILDKITE_BUILD_CREATOR_EMAIL"),
            *("BUILDKITE_AGENT_NAME", "BUILDKITE_AGENT_ID"),
        ),
        _buildkite,
        ("BUILDKITE_JOB_ID", "BUILDKITE_BUILD_ID", "BUILDKITE_ORGANIZATION_SLUG"),
    ),
    _Runner("CHAINLOOP_SANDBOX", "CHAINLOOP_SANDBOX", (), _nothing),
)

#: Runner type names: Chainloop's nine, and ``BUILDKITE_PIPELINE`` (Buildkite, which Chainloop
#: does not name); ``GENERIC`` is the local/unknown fallback.
RUNNER_TYPES: tuple[str, ...] = (*(r.type for r in _RUNNERS), GENERIC)


def discover(env: Mapping[str, str], allow_list: tuple[str, ...] = ()) -> RunnerContext:
    """The runner context for ``env``: the first runner whose marker variable is set."""
    runner = next((r for r in _RUNNERS if env.get(r.detect)), None)
    names = (*(runner.variables if runner else ()), *allow_list)
    recorded = {n: redact(env[n]) for n in names if n in env}
    if runner is None:
        return RunnerContext(GENERIC, environment=recorded)
    safe = {n: redact(env[n]) for n in runner.variables if n in env}
    return RunnerContext(runner.type, environment=recorded, **runner.build(safe))


def runner_fields(runner_type: str, env: Mapping[str, str]) -> dict[str, str | None]:
    """The fields (url, repository, commit, ref, actor, event) that :func:`discover` gives a
    runner of ``runner_type`` in ``env``, before redaction (none for an unknown type)."""
    runner = next((r for r in _RUNNERS if r.type == runner_type), None)
    return {} if runner is None else runner.build({n: env[n] for n in runner.variables if n in env})


def job_key(ctx: RunnerContext) -> str | None:
    """A string naming this job of this CI run, or None (generic runner, or not enough said).

    Read from the recorded variables only (GitHub: server, repository, run id, attempt and
    job; GitLab: job id; Azure: build id and job; Jenkins: build URL; CircleCI: build URL;
    Tekton: pipeline run and task run; TeamCity: build URL; Buildkite: job id and build id),
    so it is the same for every step of one job. Dagger and the Chainloop sandbox name no
    job: their runs need ``--run-id`` to be retried as one.
    """
    runner = next((r for r in _RUNNERS if r.type == ctx.type), None)
    if runner is None or not runner.job_key or not ctx.environment.get(runner.job_key[0]):
        return None
    parts = [f"{name}={ctx.environment.get(name, '')}" for name in runner.job_key]
    return ";".join([ctx.type, *parts])
