"""A value that looks like a file or an image but is not one that can be read is refused, and
a string is recorded only where the contract or ``--kind STRING`` says a string is meant."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from attestlake.collect.record import RunRecord
from attestlake.contracts.contracts import parse_contract
from attestlake.errors import MaterialError
from attestlake.evidence.detect import detect_kind, looks_like_image, looks_like_path

CONTRACT = b"""\
apiVersion: attestlake.dev/v1
kind: Contract
metadata: {name: skynet-build}
spec:
  materials:
    - {type: CONTAINER_IMAGE, name: image, output: true}
    - {type: SBOM_CYCLONEDX_JSON, name: sbom}
    - {type: JUNIT_XML, name: tests, optional: true}
"""
IMAGE = "registry.example.com/cyberdyne/skynet@sha256:" + "1" * 64


def _record(contract: bytes = CONTRACT) -> RunRecord:
    return RunRecord.init(parse_contract(contract), workflow="build", project="skynet", env={})


@pytest.mark.parametrize(
    "value",
    ["sbom.cdx.json", "build/out", "./results.sarif", "dist/app.tar.gz", "REPORT.PDF"],
)
def test_a_missing_file_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert looks_like_path(value)
    with pytest.raises(MaterialError) as info:
        detect_kind(value)
    assert str(info.value).startswith(f"{value}: no such file")
    assert "--kind STRING" in str(info.value)


def test_a_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "build").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MaterialError, match=r"^build: a directory, not a file"):
        detect_kind("build")  # a bare word, but it names a directory here


def test_a_fifo_is_refused_without_reading_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(MaterialError, match="not a regular file"):
        detect_kind(str(fifo))  # opening it would block forever


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    secret = tmp_path / "notes.txt"
    secret.write_text("x")
    secret.chmod(0)
    with pytest.raises(MaterialError, match="permission denied"):
        detect_kind(str(secret))


@pytest.mark.parametrize(
    ("value", "image"),
    [
        ("alpine:3.19", True),
        ("ghcr.io/org/app", True),
        ("localhost:5000/app", True),
        (f"alpine@sha256:{'a' * 64}", True),
        ("org/app", False),  # a path: no tag, no digest, no registry host
        ("v1.2.3", False),
        ("two words", False),
    ],
)
def test_what_counts_as_an_image_reference(value: str, image: bool) -> None:
    assert looks_like_image(value) is image


def test_a_string_fills_the_contract_string_material(tmp_path: Path) -> None:
    att = _record(CONTRACT + b"    - {type: STRING, name: version}\n")
    m = att.add(None, "v1.2.3")
    assert (m.name, m.kind, m.value) == ("version", "STRING", "v1.2.3")


def test_a_detected_string_that_fills_nothing_is_refused_while_materials_are_missing() -> None:
    att = _record()
    with pytest.raises(MaterialError) as info:
        att.add(None, "sbom")  # the SBOM file's name without its ending: a typo
    assert str(info.value) == (
        "'sbom' is not a file or an image reference, and contract skynet-build has no string "
        "material to fill (not yet added: image (CONTAINER_IMAGE), sbom (SBOM_CYCLONEDX_JSON), "
        "tests (JUNIT_XML)); give --kind STRING to record it as a string the contract does "
        "not name"
    )
    assert att.materials == []
    meant = att.add(None, "sbom", kind="STRING")
    assert (meant.name, meant.kind, meant.value) == ("string-1", "STRING", "sbom")


def test_an_image_that_cannot_be_resolved_says_how_to_record_a_string() -> None:
    att = _record()

    def unreachable(ref: str) -> str:
        raise MaterialError(f"cannot resolve image {ref} to a digest: registry unreachable")

    with pytest.raises(MaterialError) as info:
        att.add(None, "release:candidate", resolve_image=unreachable)
    assert str(info.value) == (
        "cannot resolve image release:candidate to a digest: registry unreachable (read as an "
        "image reference: give --kind STRING if the text itself is meant)"
    )
    assert att.materials == []


def test_two_unfilled_materials_of_one_kind_need_a_name(tmp_path: Path) -> None:
    att = _record(CONTRACT + b"    - {type: SBOM_CYCLONEDX_JSON, name: base-sbom}\n")
    sbom = tmp_path / "bom.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5"}))
    with pytest.raises(MaterialError, match=r"2 SBOM_CYCLONEDX_JSON materials .*sbom, base-sbom"):
        att.add(None, str(sbom))
    assert att.add("base-sbom", str(sbom)).name == "base-sbom"
    assert att.add(None, str(sbom)).name == "sbom"  # one left: no guess


def test_with_a_name_the_contract_kind_decides() -> None:
    att = _record(CONTRACT + b"    - {type: STRING, name: notes}\n")
    assert att.add("notes", "docs/release.md").value == "docs/release.md"  # a string, as named
    with pytest.raises(MaterialError, match=r"^missing\.json: no such file"):
        att.add("sbom", "missing.json")
    att.add(None, IMAGE)
    assert [m.name for m in att.materials] == ["notes", "image"]


@pytest.mark.parametrize("value", ["", "  ", "\t\n"])
def test_an_empty_value_is_refused_whatever_the_kind(value: str) -> None:
    att = _record(CONTRACT + b"    - {type: STRING, name: version}\n")
    for name, kind in ((None, None), ("version", None), (None, "STRING")):
        with pytest.raises(MaterialError, match=r"^the material value is empty"):
            att.add(name, value, kind=kind)
    assert att.materials == []


def test_a_value_too_long_for_a_file_name_is_refused_as_a_file_or_kept_as_text() -> None:
    att = _record(CONTRACT + b"    - {type: STRING, name: notes}\n")
    with pytest.raises(MaterialError, match="cannot read: File name too long"):
        att.add("sbom", "x" * 300)
    assert att.add(None, "y" * 300).name == "notes"  # a long text, not a file: the string
