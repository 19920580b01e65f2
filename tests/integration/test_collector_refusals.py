"""The collector refuses what it cannot check: ``attest add`` never records a missing file, a
directory or an image that a real registry cannot resolve as a string, and leaves the state
file as it was; ``attest status`` exits 3 until the contract is satisfied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli_helpers import GITHUB_ENV, Result, run_cli, setup_workspace
from tests.integration.collector_helpers import push_image
from tests.integration.registry_server import RegistryServer

STATE = Path(".attestlake/attestation.json")


@pytest.fixture
def started(tmp_path: Path) -> Path:
    """A workspace with a run of the contract (image, sbom, optional rootfs) begun."""
    setup_workspace(tmp_path)
    init = run_cli(
        tmp_path, "attest", "init", "--contract", "contract.yaml", "--workflow", "build",
        "--project", "skynet", env=GITHUB_ENV,
    )  # fmt: skip
    assert init.code == 0, init.err
    return tmp_path


def _add(cwd: Path, *args: str) -> Result:
    return run_cli(cwd, "attest", "add", *args, env=GITHUB_ENV)


def _refused(cwd: Path, *args: str) -> str:
    """Run ``attest add ARGS``: it must exit 1, print no traceback and leave the state file
    byte for byte as it was; returns the error line."""
    before = (cwd / STATE).read_bytes()
    result = _add(cwd, *args)
    assert result.code == 1, (result.out, result.err)
    assert result.out == "" and "Traceback" not in result.err
    assert (cwd / STATE).read_bytes() == before
    [line] = result.err.splitlines()
    return line


def _materials(cwd: Path) -> list[tuple[str, str, str | None]]:
    state = json.loads((cwd / STATE).read_text())
    return [(m["name"], m["type"], m.get("value")) for m in state["materials"]]


def test_a_missing_file_is_refused_by_name(started: Path) -> None:
    assert _refused(started, "--value", "rootfs.tar.gz") == (
        "error: rootfs.tar.gz: no such file (a value with a path separator or a file name "
        "ending is read as a file); give --kind STRING if the text itself is meant"
    )
    assert _refused(started, "--value", "build/rootfs").startswith("error: build/rootfs: no such")
    # Named, the contract's kind says it is a file: the same refusal.
    assert _refused(started, "--name", "rootfs", "--value", "rootfs.tar.gz") == (
        "error: rootfs.tar.gz: no such file"
    )
    # An unset CI variable: refused, whatever the contract has room for.
    assert _refused(started, "--value", "") == (
        "error: the material value is empty (an unset CI variable?)"
    )
    assert _materials(started) == []


def test_a_directory_is_refused(started: Path) -> None:
    (started / "dist").mkdir()
    (started / "dist" / "app.tar").write_bytes(b"layer")
    line = _refused(started, "--value", "dist")
    assert line.startswith("error: dist: a directory, not a file: add the files it holds")
    assert _refused(started, "--name", "rootfs", "--value", "dist") == (
        "error: dist: a directory, not a file"
    )
    added = _add(started, "--value", "dist/app.tar")  # a file in it is what can be attested
    assert added.code == 0 and added.out.startswith("added rootfs (ARTIFACT) sha256:")


@pytest.mark.registry
def test_an_image_the_registry_cannot_resolve_is_refused(
    started: Path, registry: RegistryServer
) -> None:
    digest = push_image(registry.url, "refusals/skynet", "1.0")
    missing_tag = f"{registry.host}/refusals/skynet:9.9"
    line = _refused(started, "--value", missing_tag)
    assert line.startswith(f"error: cannot resolve image {missing_tag} to a digest:")
    assert line.endswith(
        "give it as NAME@sha256:<digest> (read as an image reference: give --kind STRING if "
        "the text itself is meant)"
    )
    no_repo = f"{registry.host}/refusals/never-pushed:1.0"
    assert _refused(started, "--value", no_repo).startswith(
        f"error: cannot resolve image {no_repo}"
    )
    named = _refused(started, "--name", "image", "--value", missing_tag)
    assert named.startswith(f"error: cannot resolve image {missing_tag} to a digest:")
    assert _materials(started) == []

    resolved = _add(started, "--value", f"{registry.host}/refusals/skynet:1.0")
    assert resolved.code == 0, resolved.err
    assert resolved.out == f"added image (CONTAINER_IMAGE) {digest}\n"


def test_a_string_is_recorded_when_kind_string_says_so(started: Path) -> None:
    line = _refused(started, "--value", "sbom")  # the SBOM's file name, its ending forgotten
    assert line.startswith("error: 'sbom' is not a file or an image reference, and contract ")
    assert "not yet added: image (CONTAINER_IMAGE), sbom (SBOM_CYCLONEDX_JSON)" in line
    for value in ("sbom", "build/notes.txt", "registry.example.com/skynet:1.0"):
        added = _add(started, "--value", value, "--kind", "STRING")
        assert added.code == 0, added.err
    assert _materials(started) == [
        ("string-1", "STRING", "sbom"),
        ("string-2", "STRING", "build/notes.txt"),
        ("string-3", "STRING", "registry.example.com/skynet:1.0"),
    ]
    wrong = _refused(started, "--name", "sbom", "--kind", "STRING", "--value", "x")
    assert wrong == "error: material 'sbom' is SBOM_CYCLONEDX_JSON in the contract, not STRING"


def test_status_exits_3_until_the_contract_is_satisfied(started: Path) -> None:
    before = run_cli(started, "attest", "status", env=GITHUB_ENV)
    assert before.code == 3
    assert "missing: material image, material sbom" in before.out and before.err == ""
    as_json = run_cli(started, "attest", "status", "--json", env=GITHUB_ENV)
    assert as_json.code == 3 and as_json.json()["missing"] == ["material image", "material sbom"]

    image = "registry.example.com/cyberdyne/skynet@sha256:" + "7" * 64
    assert _add(started, "--value", image).code == 0
    assert run_cli(started, "attest", "status", env=GITHUB_ENV).code == 3  # sbom still missing
    assert _add(started, "--value", "sbom.json").code == 0
    ready = run_cli(started, "attest", "status", env=GITHUB_ENV)
    assert ready.code == 0 and "ready to push" in ready.out
    complete = run_cli(started, "attest", "status", "--json", env=GITHUB_ENV)
    assert complete.code == 0 and complete.json()["complete"] is True


def test_status_in_github_actions_annotates_what_is_missing(started: Path) -> None:
    summary = started / "summary.md"
    env = {**GITHUB_ENV, "GITHUB_STEP_SUMMARY": str(summary)}
    status = run_cli(started, "attest", "status", env=env)
    assert status.code == 3
    assert "::error title=attestlake%3A contract skynet-build::material sbom" in status.out
    assert "❌ missing (required)" in summary.read_text()
