"""SLSA provenance v1 for a run's outputs, made beside the run statement and signed the same way.

The statement (``predicateType: https://slsa.dev/provenance/v1``) has the run's outputs as
subjects. Its build type is :data:`BUILD_TYPE`, documented in ``docs/collector.md``:

- ``buildDefinition.externalParameters``: the workflow (name, project, team), the source
  (repository, ref, commit) and the contract (name, revision, digest) of the run;
- ``buildDefinition.internalParameters``: the runner type and the event that started it;
- ``buildDefinition.resolvedDependencies``: the source commit (``git+<repo>@<ref>``) and every
  material that is not an output and has a digest (SBOMs, scans, base images, ...);
- ``runDetails.builder.id``: the CI runner identity (:func:`builder_id`);
- ``runDetails.metadata``: ``invocationId`` (the CI run URL, else the run id), start and end;
- ``runDetails.byproducts``: the run statement's run id, so the two can be joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attestlake._internal.durations import iso
from attestlake._internal.version import __version__
from attestlake.collect.statements import subjects_for
from attestlake.contracts.model import Contract
from attestlake.evidence.materials import Material
from attestlake.evidence.runner_context import RunnerContext
from attestlake.evidence.runners import GENERIC
from attestlake.intoto.predicates import STATEMENT_TYPE

PROVENANCE_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://attestlake.dev/buildtypes/ci-run/v1"


def builder_id(runner: RunnerContext) -> str:
    """Who built: the CI's own identity for the pipeline definition, as precisely as known.

    GitHub Actions: the workflow file at its ref (``https://github.com/ORG/REPO/.github/
    workflows/build.yml@refs/heads/main``, the identity a keyless certificate also names);
    GitLab: the project's pipeline config at its ref; others: the repository, else the run URL;
    last, ``https://attestlake.dev/builders/<RUNNER TYPE>``.
    """
    env = runner.environment
    if runner.type == "GITHUB_ACTION" and env.get("GITHUB_WORKFLOW_REF"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{env['GITHUB_WORKFLOW_REF']}"
    if runner.type == "GITLAB_PIPELINE" and runner.repository:
        config = env.get("CI_CONFIG_PATH") or ".gitlab-ci.yml"
        return f"{runner.repository}//{config}@{runner.ref or 'HEAD'}"
    if runner.type != GENERIC and (runner.repository or runner.url):
        return str(runner.repository or runner.url)
    return f"https://attestlake.dev/builders/{runner.type}"


def _dependencies(runner: RunnerContext, materials: Sequence[Material]) -> list[dict[str, Any]]:
    deps: list[dict[str, Any]] = []
    if runner.repository and runner.commit:
        uri = f"git+{runner.repository}" + (f"@{runner.ref}" if runner.ref else "")
        deps.append({"uri": uri, "digest": {"gitCommit": runner.commit}})
    for m in materials:
        if m.output or not m.digest:
            continue
        dep: dict[str, Any] = {
            "name": m.name,
            "digest": {"sha256": m.digest.split(":", 1)[1]},
            "annotations": {"attestlake.material": m.name, "attestlake.type": m.kind},
        }
        if m.kind == "CONTAINER_IMAGE":
            dep["uri"] = f"oci://{m.details.get('repository')}"
        if m.media_type:
            dep["mediaType"] = m.media_type
        deps.append(dep)
    return deps


def has_outputs(materials: Sequence[Material]) -> bool:
    return any(m.output and m.digest for m in materials)


def provenance_statement(
    *,
    run_id: str,
    workflow: str,
    project: str,
    team: str | None,
    contract: Contract,
    runner: RunnerContext,
    materials: Sequence[Material],
    started_at: datetime,
    finished_at: datetime,
) -> dict[str, Any]:
    """The SLSA v1 provenance statement for the outputs among ``materials``."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects_for(materials, run_id, workflow, project),
        "predicateType": PROVENANCE_PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "workflow": {"name": workflow, "project": project, "team": team},
                    "source": {
                        "repository": runner.repository,
                        "ref": runner.ref,
                        "commit": runner.commit,
                    },
                    "contract": {
                        "name": contract.name,
                        "revision": contract.revision,
                        "digest": contract.digest,
                    },
                },
                "internalParameters": {"runner": {"type": runner.type, "event": runner.event}},
                "resolvedDependencies": _dependencies(runner, materials),
            },
            "runDetails": {
                "builder": {
                    "id": builder_id(runner),
                    "version": {"attestlake": __version__},
                },
                "metadata": {
                    "invocationId": runner.url or f"attestlake:run/{run_id}",
                    "startedOn": iso(started_at),
                    "finishedOn": iso(finished_at),
                },
                "byproducts": [{"name": "attestlake-run", "uri": f"attestlake:run/{run_id}"}],
            },
        },
    }
