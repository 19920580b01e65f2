"""read_material: each kind is validated for what it claims to be and recorded by digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from attestlake.errors import MaterialError
from attestlake.evidence.materials import MATERIAL_KINDS, read_material
from tests import assets

HEX = "0123456789abcdef" * 4
MAIN_SHA = "f" * 64

CYCLONEDX: dict[str, object] = assets.data("sboms/cyclonedx-app-with-hashes.json")

SPDX: dict[str, object] = assets.data("sboms/spdx-two-packages.json")


def _write(tmp_path: Path, name: str, data: bytes | str | Mapping[str, object]) -> Path:
    path = tmp_path / name
    if isinstance(data, Mapping):
        data = json.dumps(data)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- ARTIFACT ------------------------------------------------------------------------------


def test_artifact_records_digest_size_and_media_type(tmp_path: Path) -> None:
    data = b"\x00binary\xffcontent\n"
    path = _write(tmp_path, "app.tar.gz", data)

    material, blob = read_material("package", "ARTIFACT", str(path), output=True)

    assert blob == data
    assert material.digest == _sha(data)
    assert material.size == len(data)
    assert material.media_type == "application/octet-stream"
    assert material.output is True
    assert material.is_file
    out = material.to_json()
    assert out["filename"] == "app.tar.gz"
    assert "value" not in out  # the local path is not recorded, only the file name
    assert out["digest"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert out["size"] == len(data)


def test_artifact_annotations_are_recorded_sorted(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.bin", b"x")
    material, _ = read_material("a", "ARTIFACT", str(path), annotations={"z": "1", "a": "2"})
    assert list(material.to_json()["annotations"].items()) == [("a", "2"), ("z", "1")]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.bin"
    with pytest.raises(MaterialError) as info:
        read_material("a", "ARTIFACT", str(path))
    assert str(info.value) == f"{path}: no such file"


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MaterialError) as info:
        read_material("a", "ARTIFACT", str(tmp_path))
    assert str(info.value) == f"{tmp_path}: a directory, not a file"


# --- SBOMs ---------------------------------------------------------------------------------


def test_cyclonedx_sbom(tmp_path: Path) -> None:
    path = _write(tmp_path, "sbom.cdx.json", CYCLONEDX)

    material, blob = read_material("sbom", "SBOM_CYCLONEDX_JSON", str(path))

    assert blob == path.read_bytes()
    assert material.digest == _sha(path.read_bytes())
    assert material.media_type == "application/vnd.cyclonedx+json"
    assert material.details["format"] == "CycloneDX"
    assert material.details["components"] == 3
    assert material.details["specVersion"] == "1.5"
    assert material.details["mainComponent"] == {
        "name": "app",
        "version": "1.2.0",
        "purl": "pkg:oci/app@1.2.0",
        "sha256": MAIN_SHA,
    }


def test_cyclonedx_not_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "sbom.cdx.json", "<bom>not json</bom>")
    with pytest.raises(MaterialError) as info:
        read_material("sbom", "SBOM_CYCLONEDX_JSON", str(path))
    msg = str(info.value)
    assert msg.startswith(f"{path}: ")
    assert "must be JSON" in msg


def test_cyclonedx_given_an_spdx_file_suggests_spdx(tmp_path: Path) -> None:
    path = _write(tmp_path, "sbom.json", SPDX)
    with pytest.raises(MaterialError) as info:
        read_material("sbom", "SBOM_CYCLONEDX_JSON", str(path))
    msg = str(info.value)
    assert "not a CycloneDX JSON SBOM" in msg
    assert "use SBOM_SPDX_JSON" in msg


def test_cyclonedx_other_json_is_refused_without_spdx_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.json", {"hello": "world"})
    with pytest.raises(MaterialError, match="not a CycloneDX JSON SBOM") as info:
        read_material("sbom", "SBOM_CYCLONEDX_JSON", str(path))
    assert "SPDX" not in str(info.value)


def test_spdx_sbom(tmp_path: Path) -> None:
    path = _write(tmp_path, "sbom.spdx.json", SPDX)

    material, _ = read_material("sbom", "SBOM_SPDX_JSON", str(path))

    assert material.media_type == "application/spdx+json"
    assert material.digest == _sha(path.read_bytes())
    assert material.details["format"] == "SPDX"
    assert material.details["specVersion"] == "SPDX-2.3"
    assert material.details["components"] == 2
    assert material.details["mainComponent"]["name"] == "my-app"


def test_spdx_given_a_cyclonedx_file_suggests_cyclonedx(tmp_path: Path) -> None:
    path = _write(tmp_path, "sbom.json", CYCLONEDX)
    with pytest.raises(MaterialError) as info:
        read_material("sbom", "SBOM_SPDX_JSON", str(path))
    msg = str(info.value)
    assert "not an SPDX JSON SBOM" in msg
    assert "use SBOM_CYCLONEDX_JSON" in msg


def test_spdx_not_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "sbom.spdx", "SPDXVersion: SPDX-2.3\n")  # tag-value, not JSON
    with pytest.raises(MaterialError, match="must be JSON"):
        read_material("sbom", "SBOM_SPDX_JSON", str(path))


# --- CONTAINER_IMAGE -----------------------------------------------------------------------


def test_container_image_with_registry_port_tag_and_digest() -> None:
    ref = f"registry.example.com:5000/org/app:1.2@sha256:{HEX}"

    material, blob = read_material("image", "CONTAINER_IMAGE", ref, output=True)

    assert blob is None
    assert material.digest == f"sha256:{HEX}"
    assert material.details["repository"] == "registry.example.com:5000/org/app"
    assert material.details["tag"] == "1.2"
    assert material.value == ref
    assert not material.is_file
    assert material.to_json()["value"] == ref


def test_container_image_digest_only() -> None:
    material, _ = read_material("image", "CONTAINER_IMAGE", f"ghcr.io/org/app@sha256:{HEX}")
    assert material.details == {"repository": "ghcr.io/org/app", "tag": None}


def test_container_image_numeric_tag_without_registry() -> None:
    material, _ = read_material("image", "CONTAINER_IMAGE", f"postgres:16@sha256:{HEX}")
    assert material.details == {"repository": "postgres", "tag": "16"}


@pytest.mark.parametrize(
    "ref",
    [
        "registry.example.com/org/app:1.2",  # no digest
        f"registry.example.com/org/app:1.2@sha256:{HEX[:63]}",  # short digest
        f"registry.example.com/org/app@sha256:{HEX.upper()}",  # upper-case hex
        f"registry.example.com/org/app@sha512:{HEX}{HEX}",  # not sha256
        f"Registry.example.com/Org/App@sha256:{HEX}",  # upper-case name
    ],
)
def test_container_image_refused(ref: str) -> None:
    with pytest.raises(MaterialError, match="not an image reference with a digest"):
        read_material("image", "CONTAINER_IMAGE", ref)


# --- STRING and other kinds ----------------------------------------------------------------


def test_string_is_recorded_as_is() -> None:
    material, blob = read_material("version", "STRING", "1.2.3 (build 7)")
    assert blob is None
    assert material.value == "1.2.3 (build 7)"
    assert material.digest is None
    out = material.to_json()
    assert out["value"] == "1.2.3 (build 7)"
    assert "digest" not in out


def test_string_that_looks_like_a_path_is_not_read(tmp_path: Path) -> None:
    material, blob = read_material("v", "STRING", str(tmp_path / "absent"))
    assert blob is None
    assert material.size is None


def test_sarif(tmp_path: Path) -> None:
    path = _write(tmp_path, "scan.sarif", {"version": "2.1.0", "runs": [{}, {}]})
    material, _ = read_material("scan", "SARIF", str(path))
    assert material.media_type == "application/sarif+json"
    assert material.details == {
        "format": "SARIF",
        "version": "2.1.0",
        "runs": 2,
        "tool": None,
        "results": 0,
        "resultsByLevel": {},
    }


def test_sarif_without_runs(tmp_path: Path) -> None:
    path = _write(tmp_path, "scan.sarif", {"version": "2.1.0"})
    with pytest.raises(MaterialError, match="not a SARIF log"):
        read_material("scan", "SARIF", str(path))


def test_openvex(tmp_path: Path) -> None:
    doc = {"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{}, {}, {}]}
    path = _write(tmp_path, "vex.json", doc)
    material, _ = read_material("vex", "OPENVEX", str(path))
    assert material.media_type == "application/openvex+json"
    assert material.details == {
        "format": "OpenVEX",
        "statements": 3,
        "author": None,
        "statuses": {},
    }


def test_openvex_refuses_other_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "vex.json", {"@context": "https://example.com/ns", "statements": []})
    with pytest.raises(MaterialError, match="not an OpenVEX document"):
        read_material("vex", "OPENVEX", str(path))


def test_junit_xml(tmp_path: Path) -> None:
    xml = assets.text("junit/one-suite-one-test.xml")
    path = _write(tmp_path, "junit.xml", xml)
    material, _ = read_material("tests", "JUNIT_XML", str(path))
    assert material.media_type == "application/xml"
    assert material.details == {
        "format": "JUnit",
        "suites": 1,
        "tests": 1,
        "failures": 0,
        "errors": 0,
        "skipped": 0,
    }


def test_junit_xml_refuses_a_doctype(tmp_path: Path) -> None:
    xml = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE lolz [<!ENTITY lol "lol">]>\n'
        '<testsuite name="unit"><testcase name="&lol;"/></testsuite>\n'
    )
    path = _write(tmp_path, "junit.xml", xml)
    with pytest.raises(MaterialError, match="DOCTYPE"):
        read_material("tests", "JUNIT_XML", str(path))


def test_junit_xml_refuses_a_lower_case_doctype(tmp_path: Path) -> None:
    xml = '<?xml version="1.0"?>\n<!doctype x>\n<testsuite name="unit"/>\n'
    path = _write(tmp_path, "junit.xml", xml)
    with pytest.raises(MaterialError, match="DOCTYPE"):
        read_material("tests", "JUNIT_XML", str(path))


def test_junit_xml_refuses_a_doctype_after_a_long_comment(tmp_path: Path) -> None:
    xml = (
        "<?xml version='1.0'?><!--" + "x" * 70_000 + "-->"
        '<!DOCTYPE t [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        '<testsuite name="unit"><testcase name="&secret;"/></testsuite>'
    )
    path = _write(tmp_path, "junit.xml", xml)
    with pytest.raises(MaterialError, match="declares a DTD or an entity"):
        read_material("tests", "JUNIT_XML", str(path))


def test_junit_xml_refuses_non_junit(tmp_path: Path) -> None:
    path = _write(tmp_path, "junit.xml", "<html><body/></html>")
    with pytest.raises(MaterialError, match="no <testsuite>"):
        read_material("tests", "JUNIT_XML", str(path))
    path = _write(tmp_path, "junit.txt", "all tests passed")
    with pytest.raises(MaterialError, match="not a JUnit XML file"):
        read_material("tests", "JUNIT_XML", str(path))


def test_slsa_provenance_dsse_and_bundle(tmp_path: Path) -> None:
    dsse = _write(tmp_path, "prov.dsse.json", {"payloadType": "x", "payload": "", "signatures": []})
    material, _ = read_material("prov", "SLSA_PROVENANCE", str(dsse))
    assert material.media_type == "application/vnd.dsse.envelope.v1+json"
    assert material.details == {"format": "DSSE"}

    bundle = _write(tmp_path, "prov.sigstore.json", {"mediaType": "application/vnd.dev.sigstore"})
    material, _ = read_material("prov", "SLSA_PROVENANCE", str(bundle))
    assert material.details == {
        "format": "SigstoreBundle",
        "bundleMediaType": "application/vnd.dev.sigstore",
    }


def test_slsa_provenance_refuses_a_bare_statement(tmp_path: Path) -> None:
    path = _write(tmp_path, "prov.json", {"_type": "https://in-toto.io/Statement/v1"})
    with pytest.raises(MaterialError, match="not a DSSE envelope or Sigstore bundle"):
        read_material("prov", "SLSA_PROVENANCE", str(path))


def test_unknown_kind() -> None:
    with pytest.raises(MaterialError) as info:
        read_material("x", "DOCKERFILE", "Dockerfile")
    msg = str(info.value)
    assert "unknown material kind 'DOCKERFILE'" in msg
    assert all(kind in msg for kind in MATERIAL_KINDS)


# --- the real-world corpus -----------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_laravel_cyclonedx(corpus: Path) -> None:
    path = corpus / "sbom" / "laravel-7.12.0.cdx-1.4.json"

    material, blob = read_material("sbom", "SBOM_CYCLONEDX_JSON", str(path))

    assert blob == path.read_bytes()
    assert material.digest == _sha(path.read_bytes())
    assert material.details["components"] == 62
    assert material.details["specVersion"] == "1.4"
    assert material.details["mainComponent"]["name"] == "cyclonedx-php-composer-demo"
    assert material.details["mainComponent"]["sha256"] is None  # it has no hashes


@pytest.mark.corpus
def test_corpus_spdx(corpus: Path) -> None:
    path = corpus / "sbom" / "examplemaven-0.0.1.spdx-2.3.json"

    material, _ = read_material("sbom", "SBOM_SPDX_JSON", str(path))

    assert material.details["format"] == "SPDX"
    assert material.details["specVersion"] == "SPDX-2.3"
    with pytest.raises(MaterialError, match="use SBOM_SPDX_JSON"):
        read_material("sbom", "SBOM_CYCLONEDX_JSON", str(path))


# --- details by kind, and kind detection -----------------------------------------------------
def test_sarif_tool_and_result_counts(tmp_path: Path) -> None:
    doc = assets.data("sarif/semgrep-and-trivy-four-results.json")
    material, _ = read_material("scan", "SARIF", str(_write(tmp_path, "s.sarif", doc)))
    assert material.details["tool"] == "semgrep, trivy"
    assert material.details["results"] == 4
    assert material.details["resultsByLevel"] == {"error": 2, "note": 1, "warning": 1}


def test_junit_counts_tests_and_failures(tmp_path: Path) -> None:
    xml = assets.text("junit/two-suites-failure-error-skipped.xml")
    material, _ = read_material("tests", "JUNIT_XML", str(_write(tmp_path, "j.xml", xml)))
    assert material.details == {
        "format": "JUnit",
        "suites": 2,
        "tests": 8,
        "failures": 1,
        "errors": 1,
        "skipped": 1,
    }


def test_junit_that_is_not_well_formed(tmp_path: Path) -> None:
    path = _write(tmp_path, "j.xml", "<testsuite><testcase></testsuite>")
    with pytest.raises(MaterialError, match="not well-formed"):
        read_material("tests", "JUNIT_XML", str(path))


def test_openvex_statuses(tmp_path: Path) -> None:
    doc = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "author": "SecOps",
        "statements": [{"status": "not_affected"}, {"status": "fixed"}, {"status": "fixed"}],
    }
    material, _ = read_material("vex", "OPENVEX", str(_write(tmp_path, "v.json", doc)))
    assert material.details["author"] == "SecOps"
    assert material.details["statuses"] == {"fixed": 2, "not_affected": 1}


def test_slsa_provenance_records_the_predicate_type(tmp_path: Path) -> None:
    import base64

    stmt = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "a", "digest": {"sha256": HEX}}],
        "predicateType": "https://slsa.dev/provenance/v1",
    }
    payload = base64.b64encode(json.dumps(stmt).encode()).decode()
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "dsseEnvelope": {"payloadType": "application/vnd.in-toto+json", "payload": payload},
    }
    material, _ = read_material("prov", "SLSA_PROVENANCE", str(_write(tmp_path, "p", bundle)))
    assert material.details["predicateType"] == "https://slsa.dev/provenance/v1"
    assert material.details["subjects"] == 1


def test_spdx_main_component_from_document_describes(tmp_path: Path) -> None:
    doc = {
        **SPDX,
        "documentDescribes": ["SPDXRef-app"],
        "packages": [
            {"SPDXID": "SPDXRef-lib", "name": "lib"},
            {
                "SPDXID": "SPDXRef-app",
                "name": "app",
                "versionInfo": "2.0",
                "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:npm/app@2.0"}],
            },
        ],
    }
    material, _ = read_material("sbom", "SBOM_SPDX_JSON", str(_write(tmp_path, "s.json", doc)))
    assert material.details["mainComponent"] == {
        "name": "app",
        "version": "2.0",
        "purl": "pkg:npm/app@2.0",
        "sha256": None,
    }


def test_container_image_tag_is_resolved_when_a_resolver_is_given() -> None:
    material, _ = read_material(
        "image",
        "CONTAINER_IMAGE",
        "registry.example.com/org/app:1.2",
        resolve_image=lambda ref: f"{ref}@sha256:{HEX}",
    )
    assert material.value == f"registry.example.com/org/app:1.2@sha256:{HEX}"
    assert material.details == {"repository": "registry.example.com/org/app", "tag": "1.2"}


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("bom.json", CYCLONEDX, "SBOM_CYCLONEDX_JSON"),
        ("spdx.json", SPDX, "SBOM_SPDX_JSON"),
        ("scan.sarif", {"version": "2.1.0", "runs": []}, "SARIF"),
        ("vex.json", {"@context": "https://openvex.dev/ns/v0.2.0"}, "OPENVEX"),
        ("junit.xml", "<testsuite/>", "JUNIT_XML"),
        ("page.html", "<html/>", "ARTIFACT"),
        ("data.json", {"hello": "world"}, "ARTIFACT"),
        ("app.tar.gz", "\x1f\x8b binary", "ARTIFACT"),
        ("att.dsse.json", {"payloadType": "x", "payload": "", "signatures": []}, "EVIDENCE"),
    ],
)
def test_detect_kind_of_files(
    tmp_path: Path, name: str, content: str | Mapping[str, object], kind: str
) -> None:
    from attestlake.evidence.detect import detect_kind

    assert detect_kind(str(_write(tmp_path, name, content))) == kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (f"alpine@sha256:{HEX}", "CONTAINER_IMAGE"),
        ("ghcr.io/org/app:1.0", "CONTAINER_IMAGE"),
        ("localhost:5000/app", "CONTAINER_IMAGE"),
        ("alpine:3.19", "CONTAINER_IMAGE"),  # a tag: resolved when added
        ("docker.io/cyberdyne/app", "CONTAINER_IMAGE"),
        ("v1.2.3", "STRING"),
        ("1.0.0-rc.1", "STRING"),
        ("release candidate 7", "STRING"),
        ("https://ci.example.com/runs/42", "STRING"),
        ("x" * 300, "STRING"),  # longer than any file name: not a file
    ],
)
def test_detect_kind_of_values(value: str, kind: str) -> None:
    from attestlake.evidence.detect import detect_kind

    assert detect_kind(value) == kind
