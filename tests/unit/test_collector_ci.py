"""CI ergonomics: job summary, error annotations and image references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attestlake.collect.ci_summary import (
    error_annotations,
    explain_missing,
    summary_markdown,
    write_step_summary,
)
from attestlake.collect.collector import Attestation
from attestlake.collect.push import PushResult
from attestlake.contracts.contracts import parse_contract
from attestlake.store.images import ImageRef, parse_image
from tests import assets

CONTRACT = assets.path("contracts/image-sbom-binary-with-required-annotations.yaml").read_bytes()
IMAGE = "ghcr.io/cyberdyne/skynet@sha256:" + "1" * 64
ENV = assets.env("ci/github-run-without-commit.json")


def _att(tmp_path: Path) -> Attestation:
    att = Attestation.init(
        parse_contract(CONTRACT), workflow="build", project="skynet", env=ENV, run_id="r1"
    )
    att.add("image", IMAGE)
    (tmp_path / "bin").write_bytes(b"\x7fELF")
    att.add("binary", str(tmp_path / "bin"))
    return att


def test_explanations_say_what_is_missing_and_how_to_add_it(tmp_path: Path) -> None:
    att = _att(tmp_path)
    assert explain_missing(att, att.status()) == [
        "material sbom (SBOM_CYCLONEDX_JSON) is required by contract skynet-build revision 2: "
        "add it with 'attestlake attest add --name sbom --value ...'",
        "annotation owner is required by contract skynet-build revision 2: give it with "
        "'attestlake attest push --annotation owner=...' (or on init)",
        "annotation binary.arch is required by contract skynet-build revision 2: give it with "
        "'attestlake attest add --name binary --annotation arch=...'",
    ]


def test_error_annotations_are_github_workflow_commands(tmp_path: Path) -> None:
    att = _att(tmp_path)
    lines = error_annotations(att, att.status())
    assert len(lines) == 3
    assert lines[0].startswith("::error title=attestlake%3A contract skynet-build::material sbom")
    assert all("\n" not in line for line in lines)


def test_summary_lists_materials_and_what_is_missing(tmp_path: Path) -> None:
    att = _att(tmp_path)
    text = summary_markdown(att, att.status(), step="push")
    assert "contract not satisfied" in text
    assert "| image | CONTAINER_IMAGE | ✅ added (output) | `sha256:" + "1" * 64 + "` |" in text
    assert "| sbom | SBOM_CYCLONEDX_JSON | ❌ missing (required) | |" in text
    assert "| scan | SARIF | ➖ optional, not added | |" in text
    assert "([run](https://github.com/cyberdyne/skynet/actions/runs/9))" in text
    assert "**What the contract still needs**" in text

    result = PushResult("oci:store", "run-r1", "sha256:" + "2" * 64, "sha256:" + "3" * 64, ())
    done = summary_markdown(att, att.status(), result)
    assert "pushed (success)" in done and "as `run-r1`" in done


def test_step_summary_is_written_only_in_github_actions(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    assert write_step_summary("hello", {"GITHUB_STEP_SUMMARY": str(target)}) is None
    assert not target.exists()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(target)}
    assert write_step_summary("one", env) == target
    write_step_summary("two", env)
    assert target.read_text() == "one\ntwo\n"  # appended, as GitHub expects


@pytest.mark.parametrize(
    ("ref", "parsed"),
    [
        ("alpine", ImageRef("docker.io", "library/alpine")),
        ("alpine:3.19", ImageRef("docker.io", "library/alpine", "3.19")),
        ("bitnami/redis:7", ImageRef("docker.io", "bitnami/redis", "7")),
        ("localhost:5000/app", ImageRef("localhost:5000", "app")),
        (
            "127.0.0.1:5000/org/app:1.0@sha256:" + "a" * 64,
            ImageRef("127.0.0.1:5000", "org/app", "1.0", "sha256:" + "a" * 64),
        ),
        ("ghcr.io/org/app", ImageRef("ghcr.io", "org/app")),
    ],
)
def test_parse_image(ref: str, parsed: ImageRef) -> None:
    assert parse_image(ref) == parsed


@pytest.mark.parametrize("ref", ["", "UPPER/app", "app:", "a b", "ghcr.io/", "app@sha256:12"])
def test_parse_image_refuses(ref: str) -> None:
    assert parse_image(ref) is None


def test_status_json_shape_is_stable(tmp_path: Path) -> None:
    att = _att(tmp_path)
    json.dumps(att.to_state())  # the state is plain JSON


GROUPED = assets.path("contracts/legacy-schema-v1-teamcity-helm-csaf.yaml").read_bytes()


def test_the_summary_and_explanations_name_an_unmet_group_and_then_who_met_it(
    tmp_path: Path,
) -> None:
    from tests.unit.test_material_kinds import helm_package

    att = Attestation.init(
        parse_contract(GROUPED, source="release.yaml"),
        workflow="release",
        project="skynet",
        env=assets.env("ci/teamcity-build-main.json"),
        run_id="r1",
    )
    (tmp_path / "chart.tgz").write_bytes(helm_package())
    att.add("chart", str(tmp_path / "chart.tgz"))
    unmet = att.status()
    assert not unmet.complete and unmet.missing() == [
        "one of group advisories (advisory, guidance)"
    ]
    assert explain_missing(att, unmet) == [
        "at least one material of group advisories is required by contract release revision 1: "
        "advisory (CSAF_SECURITY_ADVISORY) or guidance (CSAF_INFORMATIONAL_ADVISORY); add one "
        "with 'attestlake attest add --name NAME --value ...'"
    ]
    text = summary_markdown(att, unmet, step="status")
    missing = "❌ missing (group advisories: at least one of its materials)"
    assert f"| advisory | CSAF_SECURITY_ADVISORY | {missing} | |" in text
    assert "| secrets | TRUFFLEHOG_JSON | ➖ optional, not added | |" in text

    guidance = assets.path("csaf/informational-advisory-hardening-guide.json")
    att.add("guidance", str(guidance))
    met = att.status()
    assert met.complete and met.groups[0][1] == ("guidance",)
    text = summary_markdown(att, met, step="status")
    not_needed = "➖ not added (group advisories met by guidance)"
    assert f"| advisory | CSAF_SECURITY_ADVISORY | {not_needed} | |" in text
