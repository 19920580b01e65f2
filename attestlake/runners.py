"""Runner context: which CI system is running the collector, and what it says about the run.

Each runner is detected from its own environment variables and records only those variables
(plus the contract's ``envAllowList``): nothing else from the environment ever leaves the
runner, so secrets such as ``GITHUB_TOKEN`` are never recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

GENERIC = "GENERIC"


@dataclass(frozen=True)
class RunnerContext:
    type: str
    url: str | None = None
    repository: str | None = None
    commit: str | None = None
    ref: str | None = None
    actor: str | None = None
    event: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "type": self.type,
            "url": self.url,
            "repository": self.repository,
            "commit": self.commit,
            "ref": self.ref,
            "actor": self.actor,
            "event": self.event,
            "environment": dict(sorted(self.environment.items())),
        }


@dataclass(frozen=True)
class _Runner:
    type: str
    detect: str  # an environment variable whose presence identifies the runner
    variables: tuple[str, ...]
    build: Callable[[Mapping[str, str]], dict[str, str | None]]


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
    return {
        "url": env.get("BUILD_BUILDURI"),
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
        "actor": None,
        "event": None,
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
    return {
        "url": None,
        "repository": env.get("TEKTON_GIT_URL"),
        "commit": env.get("TEKTON_GIT_REVISION"),
        "ref": None,
        "actor": None,
        "event": None,
    }


_RUNNERS: tuple[_Runner, ...] = (
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
            "GITHUB_WORKFLOW_REF",
            "GITHUB_SERVER_URL",
            "RUNNER_NAME",
            "RUNNER_OS",
            "RUNNER_ENVIRONMENT",
        ),
        _github,
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
        ),
        _gitlab,
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
        ),
        _azure,
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
        ),
        _jenkins,
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
        ),
        _circleci,
    ),
    _Runner(
        "TEKTON_PIPELINE",
        "TEKTON_PIPELINE_RUN",
        ("TEKTON_PIPELINE_RUN", "TEKTON_PIPELINE", "TEKTON_GIT_URL", "TEKTON_GIT_REVISION"),
        _tekton,
    ),
)

#: Runner type names (Chainloop's where they overlap); ``GENERIC`` is the local/unknown fallback.
RUNNER_TYPES: tuple[str, ...] = (*(r.type for r in _RUNNERS), GENERIC)


def discover(env: Mapping[str, str], allow_list: tuple[str, ...] = ()) -> RunnerContext:
    """The runner context for ``env``: the first runner whose marker variable is set."""
    runner = next((r for r in _RUNNERS if env.get(r.detect)), None)
    names = (*(runner.variables if runner else ()), *allow_list)
    recorded = {n: env[n] for n in names if n in env}
    if runner is None:
        return RunnerContext(GENERIC, environment=recorded)
    return RunnerContext(runner.type, environment=recorded, **runner.build(env))
