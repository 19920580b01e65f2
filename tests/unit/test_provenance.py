"""SLSA provenance v1 for a run's outputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from attestlake import __version__
from attestlake.collect.provenance import (
    BUILD_TYPE,
    PROVENANCE_PREDICATE_TYPE,
    builder_id,
    has_outputs,
    provenance_statement,
)
from attestlake.collect.statements import canonical_bytes
from attestlake.contracts.contracts import parse_contract
from attestlake.evidence.materials import Material
from attestlake.evidence.runners import discover
from tests import assets

CONTRACT = parse_contract(assets.path("contracts/image-sbom-revision-3.yaml").read_bytes())
GITHUB = assets.env("ci/github-push-main-workflow-ref.json")
IMAGE = Material(
    "image",
    "CONTAINER_IMAGE",
    "ghcr.io/cyberdyne/skynet@sha256:" + "1" * 64,
    digest="sha256:" + "1" * 64,
    output=True,
    details={"repository": "ghcr.io/cyberdyne/skynet", "tag": None},
)
SBOM = Material(
    "sbom",
    "SBOM_CYCLONEDX_JSON",
    str(Path("out/sbom.cdx.json")),
    digest="sha256:" + "2" * 64,
    media_type="application/vnd.cyclonedx+json",
)
T0, T1 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC), datetime(2025, 3, 1, 10, 7, tzinfo=UTC)


def _statement(env: dict[str, str] = GITHUB) -> dict[str, object]:
    return provenance_statement(
        run_id="r" * 32,
        workflow="build",
        project="skynet",
        team="ai",
        contract=CONTRACT,
        runner=discover(env),
        materials=[IMAGE, SBOM],
        started_at=T0,
        finished_at=T1,
    )


def test_statement_is_slsa_v1_with_the_outputs_as_subjects() -> None:
    stmt = _statement()
    assert stmt["_type"] == "https://in-toto.io/Statement/v1"
    assert stmt["predicateType"] == PROVENANCE_PREDICATE_TYPE == "https://slsa.dev/provenance/v1"
    assert stmt["subject"] == [
        {
            "name": "ghcr.io/cyberdyne/skynet",
            "digest": {"sha256": "1" * 64},
            "annotations": {"attestlake.material": "image", "attestlake.type": "CONTAINER_IMAGE"},
        }
    ]
    json.loads(canonical_bytes(stmt))  # canonical JSON round-trips


def test_build_definition_records_workflow_source_contract_and_dependencies() -> None:
    pred = _statement()["predicate"]
    assert isinstance(pred, dict)
    build = pred["buildDefinition"]
    assert build["buildType"] == BUILD_TYPE
    assert build["externalParameters"] == {
        "workflow": {"name": "build", "project": "skynet", "team": "ai"},
        "source": {
            "repository": "https://github.com/cyberdyne/skynet",
            "ref": "refs/heads/main",
            "commit": "c" * 40,
        },
        "contract": {"name": "build", "revision": 3, "digest": CONTRACT.digest},
    }
    assert build["internalParameters"] == {"runner": {"type": "GITHUB_ACTION", "event": "push"}}
    source, sbom = build["resolvedDependencies"]
    assert source == {
        "uri": "git+https://github.com/cyberdyne/skynet@refs/heads/main",
        "digest": {"gitCommit": "c" * 40},
    }
    assert sbom["name"] == "sbom" and sbom["digest"] == {"sha256": "2" * 64}
    assert sbom["mediaType"] == "application/vnd.cyclonedx+json"


def test_run_details_name_the_ci_builder_and_the_run() -> None:
    pred = _statement()["predicate"]
    assert isinstance(pred, dict)
    details = pred["runDetails"]
    assert details["builder"] == {
        "id": "https://github.com/cyberdyne/skynet/.github/workflows/build.yml@refs/heads/main",
        "version": {"attestlake": __version__},
    }
    assert details["metadata"] == {
        "invocationId": "https://github.com/cyberdyne/skynet/actions/runs/77",
        "startedOn": "2025-03-01T10:00:00Z",
        "finishedOn": "2025-03-01T10:07:00Z",
    }
    assert details["byproducts"] == [
        {"name": "attestlake-run", "uri": f"attestlake:run/{'r' * 32}"}
    ]


def test_builder_id_per_runner() -> None:
    gitlab = {
        "GITLAB_CI": "true",
        "CI_PROJECT_URL": "https://gitlab.com/org/app",
        "CI_COMMIT_REF_NAME": "main",
        "CI_CONFIG_PATH": "ci/build.yml",
    }
    assert builder_id(discover(gitlab)) == "https://gitlab.com/org/app//ci/build.yml@main"
    jenkins = {"JENKINS_URL": "https://ci.example", "GIT_URL": "https://git.example/app.git"}
    assert builder_id(discover(jenkins)) == "https://git.example/app.git"
    assert builder_id(discover({})) == "https://attestlake.dev/builders/GENERIC"
    no_ref = {k: v for k, v in GITHUB.items() if k != "GITHUB_WORKFLOW_REF"}
    assert builder_id(discover(no_ref)) == "https://github.com/cyberdyne/skynet"


def test_only_runs_with_outputs_have_provenance() -> None:
    assert has_outputs([IMAGE, SBOM])
    assert not has_outputs([SBOM])
