"""Every Chainloop material type is a material kind; the kinds with a format refuse a file
that is not what they say, with an error naming the file and what is wrong, and record what
a reader of the attestation needs (versions, counts, tools), never a finding's secret."""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from attestlake.errors import MaterialError
from attestlake.evidence.materials import FILE_KINDS, MATERIAL_KINDS, read_material
from tests import assets

#: Chainloop's CraftingSchema.Material.MaterialType (workflowcontract/v1/crafting_schema.proto),
#: without MATERIAL_TYPE_UNSPECIFIED.
CHAINLOOP_MATERIAL_TYPES = {
    *("STRING", "CONTAINER_IMAGE", "ARTIFACT", "SBOM_CYCLONEDX_JSON", "SBOM_SPDX_JSON"),
    *("JUNIT_XML", "OPENVEX", "HELM_CHART", "SARIF", "EVIDENCE", "ATTESTATION", "CSAF_VEX"),
    *("CSAF_INFORMATIONAL_ADVISORY", "CSAF_SECURITY_ADVISORY"),
    *("CSAF_SECURITY_INCIDENT_RESPONSE", "GITLAB_SECURITY_REPORT", "ZAP_DAST_ZIP"),
    *("BLACKDUCK_SCA_JSON", "TWISTCLI_SCAN_JSON", "GHAS_CODE_SCAN", "GHAS_SECRET_SCAN"),
    *("GHAS_DEPENDENCY_SCAN", "JACOCO_XML", "SLSA_PROVENANCE", "CHAINLOOP_RUNNER_CONTEXT"),
    *("CHAINLOOP_PR_INFO", "GITLEAKS_JSON", "CHAINLOOP_AI_AGENT_CONFIG"),
    *("CHAINLOOP_AI_CODING_SESSION", "OPENAPI_SPEC", "ASYNCAPI_SPEC", "GRAPHQL_SPEC"),
    *("YELP_DETECT_SECRETS_BASELINE", "SYSINTERNALS_SIGCHECK", "SYSINTERNALS_ACCESSCHK"),
    *("CERTCC_DRANZER", "OSSF_SCORECARD_JSON", "RADAMSA_REPORT", "RADAMSA_CRASHES"),
    *("TRUFFLEHOG_JSON", "COBERTURA_XML", "CHECKMARX_JSON"),
}


def test_every_chainloop_material_type_is_a_kind() -> None:
    assert len(CHAINLOOP_MATERIAL_TYPES) == 42
    assert MATERIAL_KINDS == CHAINLOOP_MATERIAL_TYPES


def test_every_file_kind_has_a_reader_and_nothing_else_has() -> None:
    """The kinds are names a contract is read against without the readers; each file kind
    has its reader (media type and validation) among the formats."""
    from attestlake.evidence.material_formats import FILE_FORMATS

    assert set(FILE_FORMATS) == FILE_KINDS
    assert sorted(MATERIAL_KINDS - FILE_KINDS) == ["CONTAINER_IMAGE", "STRING"]


# -- samples ---------------------------------------------------------------------------------
def helm_package(chart: str = "helm/skynet", top: str = "skynet") -> bytes:
    """The .tgz 'helm package' writes for the chart folder ``chart``: its files under
    ``top/``, Chart.yaml first and values.yaml second, as Helm writes them."""
    root = assets.ROOT / chart
    first = {"Chart.yaml": 0, "values.yaml": 1}
    files = sorted(
        (p for p in root.rglob("*") if p.is_file()),
        key=lambda p: (first.get(p.relative_to(root).as_posix(), 2), p.as_posix()),
    )
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path in files:
            tar.add(path, arcname=f"{top}/{path.relative_to(root).as_posix()}")
    return out.getvalue()


def tgz(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return out.getvalue()


def zap_zip(report: bytes | None = None, name: str = "report_json.json") -> bytes:
    """The zip ZAP's GitHub actions upload: the JSON, HTML and Markdown reports."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if report is None:
            report = assets.path("scans/zap-baseline-report_json.json").read_bytes()
        archive.writestr(name, report)
        archive.writestr("report_html.html", "<html><body>ZAP Scanning Report</body></html>")
        archive.writestr("report_md.md", "# ZAP Scanning Report\n")
    return out.getvalue()


def _read(tmp_path: Path, kind: str, data: bytes, name: str = "material") -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(data)
    material, blob = read_material("m", kind, str(path))
    assert blob == data and material.size == len(data)
    return dict(material.details)


def _refused(tmp_path: Path, kind: str, data: bytes, name: str = "material") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(MaterialError) as caught:
        read_material("m", kind, str(path))
    assert str(path) in str(caught.value)
    return str(caught.value)


def _asset(name: str) -> bytes:
    return assets.path(name).read_bytes()


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


# -- CSAF ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "sample", "tracking"),
    [
        ("CSAF_VEX", "csaf/vex-rapid-reset-known-not-affected.json", "CDS-VEX-2026-0007"),
        ("CSAF_SECURITY_ADVISORY", "csaf/security-advisory-openssl-fixed.json", "CDS-SA-2026-0003"),
        ("CSAF_INFORMATIONAL_ADVISORY", "csaf/informational-advisory-hardening-guide.json",
         "CDS-IA-2026-0001"),
        ("CSAF_SECURITY_INCIDENT_RESPONSE", "csaf/security-incident-response-runner-token.json",
         "CDS-IR-2026-0002"),
    ],
)  # fmt: skip
def test_csaf_profiles_record_tracking_and_publisher(
    tmp_path: Path, kind: str, sample: str, tracking: str
) -> None:
    details = _read(tmp_path, kind, _asset(sample))
    assert details["format"] == "CSAF" and details["csafVersion"] == "2.0"
    assert details["trackingId"] == tracking
    assert details["publisher"] == "Cyberdyne Systems PSIRT"


def test_csaf_vex_records_cves_and_products(tmp_path: Path) -> None:
    details = _read(tmp_path, "CSAF_VEX", _asset("csaf/vex-rapid-reset-known-not-affected.json"))
    assert (details["vulnerabilities"], details["cves"], details["products"]) == (
        1,
        ["CVE-2023-44487"],
        1,
    )
    advisory = _read(
        tmp_path, "CSAF_SECURITY_ADVISORY", _asset("csaf/security-advisory-openssl-fixed.json")
    )
    assert (advisory["cves"], advisory["products"]) == (["CVE-2024-0727"], 2)


def test_a_csaf_document_of_another_profile_is_refused_naming_its_kind(tmp_path: Path) -> None:
    message = _refused(tmp_path, "CSAF_VEX", _asset("csaf/security-advisory-openssl-fixed.json"))
    assert "'csaf_security_advisory', not 'csaf_vex'" in message
    assert "use CSAF_SECURITY_ADVISORY" in message


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["document"].pop("csaf_version"), "csaf_version None"),
        (lambda d: d["document"].update(csaf_version="1.2"), "csaf_version '1.2'"),
        (lambda d: d["document"]["tracking"].pop("id"), "needs document.title and tracking.id"),
        (lambda d: d.pop("document"), "no 'document' object"),
        (lambda d: d["document"].update(category="csaf_base"), "category 'csaf_base'"),
    ],
    ids=["no-version", "old-version", "no-tracking-id", "no-document", "base-profile"],
)
def test_a_csaf_document_without_what_its_profile_needs_is_refused(
    tmp_path: Path, mutate: Any, expected: str
) -> None:
    doc = assets.data("csaf/vex-rapid-reset-known-not-affected.json")
    mutate(doc)
    assert expected in _refused(tmp_path, "CSAF_VEX", _json(doc))


def test_an_openvex_document_is_not_csaf(tmp_path: Path) -> None:
    openvex = _asset("openvex/vexctl-clears-rapid-reset-and-grpc.json")
    assert "not a CSAF document" in _refused(tmp_path, "CSAF_VEX", openvex)


# -- scanners' reports -----------------------------------------------------------------------
def test_gitlab_sast_report(tmp_path: Path) -> None:
    details = _read(
        tmp_path,
        "GITLAB_SECURITY_REPORT",
        _asset("scans/gitlab-sast-semgrep-two-vulnerabilities.json"),
    )
    assert details == {
        "format": "GitLabSecurityReport",
        "schemaVersion": "15.0.7",
        "scanType": "sast",
        "tool": "Semgrep",
        "toolVersion": "1.74.0",
        "status": "success",
        "vulnerabilities": 2,
        "bySeverity": {"High": 1, "Medium": 1},
    }


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["scan"].pop("type"), "scan.type None"),
        (lambda d: d["scan"].update(type="license_scanning"), "scan.type 'license_scanning'"),
        (lambda d: d.pop("vulnerabilities"), "needs 'version' and a 'vulnerabilities' list"),
    ],
    ids=["no-scan-type", "unknown-scan-type", "no-vulnerabilities"],
)
def test_a_gitlab_report_without_its_scan_is_refused(
    tmp_path: Path, mutate: Any, expected: str
) -> None:
    doc = assets.data("scans/gitlab-sast-semgrep-two-vulnerabilities.json")
    mutate(doc)
    assert expected in _refused(tmp_path, "GITLAB_SECURITY_REPORT", _json(doc))


def test_a_sarif_log_is_not_a_gitlab_report(tmp_path: Path) -> None:
    sarif = _asset("sarif/semgrep-one-note.json")
    assert "not a GitLab security report" in _refused(tmp_path, "GITLAB_SECURITY_REPORT", sarif)


def test_zap_zip_records_its_alerts(tmp_path: Path) -> None:
    details = _read(tmp_path, "ZAP_DAST_ZIP", zap_zip(), "zap_scan.zip")
    assert details["version"] == "2.15.0"
    assert details["sites"] == ["https://skynet.cyberdyne.example"]
    assert (details["alerts"], details["files"]) == (2, 3)
    assert details["byRisk"] == {"Low (Medium)": 1, "Medium (High)": 1}


def test_zap_zip_refusals(tmp_path: Path) -> None:
    report = _asset("scans/zap-baseline-report_json.json")
    assert "a JSON file; ZAP_DAST_ZIP is the zip archive" in _refused(
        tmp_path, "ZAP_DAST_ZIP", report
    )
    renamed = zap_zip(name="zap.json")
    assert "holds no ZAP report (report_json.json)" in _refused(tmp_path, "ZAP_DAST_ZIP", renamed)
    other = zap_zip(report=_json({"@programName": "Burp", "site": []}))
    assert "is not a ZAP report" in _refused(tmp_path, "ZAP_DAST_ZIP", other)
    assert "not a zip archive" in _refused(tmp_path, "ZAP_DAST_ZIP", b"PK\x03\x04 cut short")


def test_scorecard_result(tmp_path: Path) -> None:
    details = _read(tmp_path, "OSSF_SCORECARD_JSON", _asset("scans/scorecard-v5-skynet.json"))
    assert details["scorecardVersion"] == "v5.1.1"
    assert details["repository"] == "github.com/cyberdyne/skynet"
    assert details["score"] == 6.4
    assert details["checks"]["Branch-Protection"] == 0
    assert details["checks"]["Signed-Releases"] == -1


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("scorecard"), "needs scorecard.version"),
        (lambda d: d.update(score=11), "score is -1 to 10"),
        (lambda d: d.update(score="8"), "score is -1 to 10"),
        (lambda d: d.update(checks={}), "a 'checks' list"),
    ],
    ids=["no-version", "score-out-of-range", "score-as-text", "checks-not-a-list"],
)
def test_a_scorecard_result_refused(tmp_path: Path, mutate: Any, expected: str) -> None:
    doc = assets.data("scans/scorecard-v5-skynet.json")
    mutate(doc)
    assert expected in _refused(tmp_path, "OSSF_SCORECARD_JSON", _json(doc))


def test_checkmarx_report(tmp_path: Path) -> None:
    details = _read(tmp_path, "CHECKMARX_JSON", _asset("scans/checkmarx-one-sast-and-sca.json"))
    assert details["totalCount"] == 2
    assert details["byType"] == {"sast": 1, "sca": 1}
    assert details["bySeverity"] == {"HIGH": 1, "MEDIUM": 1}


def test_a_checkmarx_report_with_a_result_without_data_is_refused(tmp_path: Path) -> None:
    doc = assets.data("scans/checkmarx-one-sast-and-sca.json")
    del doc["results"][1]["data"]
    assert "result 1 has no type or data" in _refused(tmp_path, "CHECKMARX_JSON", _json(doc))
    assert "needs scanID" in _refused(tmp_path, "CHECKMARX_JSON", _json({"results": []}))


# -- secret scanners -------------------------------------------------------------------------
def test_gitleaks_report_counts_findings_by_rule(tmp_path: Path) -> None:
    data = _asset("secret-scans/gitleaks-redacted-two-findings.json")
    details = _read(tmp_path, "GITLEAKS_JSON", data)
    assert details == {
        "format": "Gitleaks",
        "findings": 2,
        "byRule": {"aws-access-token": 1, "generic-api-key": 1},
    }
    assert _read(tmp_path, "GITLEAKS_JSON", b"[]")["findings"] == 0  # a clean scan


def test_no_finding_text_is_recorded(tmp_path: Path) -> None:
    findings = assets.data("secret-scans/gitleaks-redacted-two-findings.json")
    findings[0]["Secret"] = findings[0]["Match"] = "ghp_PLANTEDsecretValue0123456789"
    details = _read(tmp_path, "GITLEAKS_JSON", _json(findings))
    assert "PLANTED" not in json.dumps(details)


def test_gitleaks_refusals(tmp_path: Path) -> None:
    assert "an array of findings" in _refused(tmp_path, "GITLEAKS_JSON", _json({"findings": []}))
    assert "finding 0 has no RuleID" in _refused(tmp_path, "GITLEAKS_JSON", _json([{"File": "x"}]))


def test_trufflehog_json_lines(tmp_path: Path) -> None:
    data = _asset("secret-scans/trufflehog-filesystem-one-verified.jsonl")
    details = _read(tmp_path, "TRUFFLEHOG_JSON", data)
    assert (details["findings"], details["verified"]) == (2, 1)
    assert details["byDetector"] == {"AWS": 1, "Github": 1}
    as_array = b"[" + b",".join(data.splitlines()) + b"]"
    assert _read(tmp_path, "TRUFFLEHOG_JSON", as_array)["findings"] == 2
    assert _read(tmp_path, "TRUFFLEHOG_JSON", b"")["findings"] == 0  # a clean scan


def test_trufflehog_refusals(tmp_path: Path) -> None:
    lines = _asset("secret-scans/trufflehog-filesystem-one-verified.jsonl")
    broken = lines + b"level=info msg=finished\n"
    assert "line 3" in _refused(tmp_path, "TRUFFLEHOG_JSON", broken)
    assert "finding 1 has no DetectorName" in _refused(
        tmp_path, "TRUFFLEHOG_JSON", _json({"SourceMetadata": {}})
    )


def test_detect_secrets_baseline(tmp_path: Path) -> None:
    data = _asset("secret-scans/detect-secrets-baseline-one-file.json")
    details = _read(tmp_path, "YELP_DETECT_SECRETS_BASELINE", data)
    assert (details["version"], details["plugins"], details["files"], details["findings"]) == (
        "1.5.0",
        4,
        1,
        2,
    )
    assert "hashed_secret" not in json.dumps(details)
    refused = _refused(tmp_path, "YELP_DETECT_SECRETS_BASELINE", _json({"version": "1.5.0"}))
    assert "needs version, plugins_used, results" in refused


# -- coverage --------------------------------------------------------------------------------
def test_jacoco_report_with_its_doctype(tmp_path: Path) -> None:
    details = _read(tmp_path, "JACOCO_XML", _asset("coverage/jacoco-skynet-core.xml"))
    assert details["name"] == "skynet-core"
    assert details["counters"]["LINE"] == {"missed": 1, "covered": 6}
    assert details["lineCoverage"] == round(6 / 7, 4)
    assert details["packages"] == 1


@pytest.mark.parametrize(
    "sample",
    ["coverage/cobertura-coveragepy-two-packages.xml", "coverage/cobertura-with-doctype.xml"],
)
def test_cobertura_report(tmp_path: Path, sample: str) -> None:
    details = _read(tmp_path, "COBERTURA_XML", _asset(sample))
    assert details["format"] == "Cobertura"
    assert 0 <= details["lineRate"] <= 1 and details["classes"] >= 1


def test_coverage_kinds_refuse_each_other_and_junit(tmp_path: Path) -> None:
    jacoco, cobertura = (
        _asset("coverage/jacoco-skynet-core.xml"),
        _asset("coverage/cobertura-with-doctype.xml"),
    )
    assert "no <report name=...> root" in _refused(tmp_path, "JACOCO_XML", cobertura)
    assert "no <coverage> root" in _refused(tmp_path, "COBERTURA_XML", jacoco)
    junit = _asset("junit/three-testcases.xml")
    assert "no <coverage> root" in _refused(tmp_path, "COBERTURA_XML", junit)
    bad_rate = cobertura.replace(b'line-rate="0.6667" branch', b'line-rate="NaN" branch', 1)
    assert "line-rate and branch-rate are numbers" in _refused(tmp_path, "COBERTURA_XML", bad_rate)


@pytest.mark.parametrize("kind", ["JACOCO_XML", "COBERTURA_XML"])
@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<report name="x">&b;</report>',
        b'<?xml version="1.0"?><!DOCTYPE coverage [<!ELEMENT coverage ANY>]><coverage/>',
        b'<?xml version="1.0"?><!DOCTYPE report SYSTEM "http://127.0.0.1:9/x.dtd">'
        b'<report name="x">&ext;</report>',
    ],
    ids=["entities", "internal-subset", "external-entity"],
)
def test_xml_with_a_dtd_subset_or_entities_is_refused(
    tmp_path: Path, kind: str, document: bytes
) -> None:
    message = _refused(tmp_path, kind, document)
    assert "refused" in message or "undefined entity" in message


# -- API specifications ----------------------------------------------------------------------
def test_openapi_yaml_and_swagger_json(tmp_path: Path) -> None:
    details = _read(tmp_path, "OPENAPI_SPEC", _asset("api-specs/openapi-3.1-skynet.yaml"))
    assert (details["format"], details["specVersion"], details["title"]) == (
        "OpenAPI",
        "3.1.0",
        "Skynet Targeting API",
    )
    assert (details["paths"], details["operations"]) == (2, 3)
    swagger = _read(tmp_path, "OPENAPI_SPEC", _asset("api-specs/swagger-2.0-petstore.json"))
    assert (swagger["format"], swagger["specVersion"], swagger["operations"]) == (
        "Swagger",
        "2.0",
        3,
    )


def test_asyncapi(tmp_path: Path) -> None:
    details = _read(tmp_path, "ASYNCAPI_SPEC", _asset("api-specs/asyncapi-3.0-target-events.yaml"))
    assert (details["specVersion"], details["channels"], details["operations"]) == ("3.0.0", 1, 1)


def test_api_spec_refusals(tmp_path: Path) -> None:
    asyncapi = _asset("api-specs/asyncapi-3.0-target-events.yaml")
    assert "use ASYNCAPI_SPEC" in _refused(tmp_path, "OPENAPI_SPEC", asyncapi)
    openapi = _asset("api-specs/openapi-3.1-skynet.yaml")
    assert "use OPENAPI_SPEC" in _refused(tmp_path, "ASYNCAPI_SPEC", openapi)
    no_info = openapi.replace(b"info:\n  title: Skynet Targeting API\n", b"info:\n")
    assert "needs info.title and info.version" in _refused(tmp_path, "OPENAPI_SPEC", no_info)
    no_paths = b"openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
    assert "needs paths" in _refused(tmp_path, "OPENAPI_SPEC", no_paths)
    assert "only Swagger 2.0" in _refused(tmp_path, "OPENAPI_SPEC", b"swagger: '1.2'\n")
    assert "not YAML or JSON" in _refused(tmp_path, "OPENAPI_SPEC", b"openapi: [3.1\n")


def test_yaml_that_builds_objects_or_nests_without_end_is_refused(tmp_path: Path) -> None:
    tagged = b"openapi: !!python/object/apply:os.system ['true']\ninfo: {title: t, version: '1'}\n"
    assert "not YAML or JSON" in _refused(tmp_path, "OPENAPI_SPEC", tagged)
    deep = b"openapi: 3.1.0\npaths: " + b"[" * 5000
    assert "nested deeper" in _refused(tmp_path, "OPENAPI_SPEC", deep)


# -- Helm charts -----------------------------------------------------------------------------
def test_helm_chart_as_helm_package_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "skynet-2.1.0.tgz"
    path.write_bytes(helm_package())
    material, _ = read_material("chart", "HELM_CHART", str(path))
    assert material.media_type == "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    assert dict(material.details) == {
        "format": "HelmChart",
        "apiVersion": "v2",
        "name": "skynet",
        "version": "2.1.0",
        "appVersion": "2.1.0",
        "type": "application",
        "dependencies": ["redis@19.0.2"],
        "hasValues": True,
        "files": 4,
    }


def test_a_chart_without_values_is_a_chart(tmp_path: Path) -> None:
    chart = _asset("helm/skynet/Chart.yaml")
    assert _read(tmp_path, "HELM_CHART", tgz({"skynet/Chart.yaml": chart}))["hasValues"] is False


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        (lambda c: tgz({"skynet/values.yaml": b"a: 1\n"}), "no CHART/Chart.yaml"),
        (lambda c: tgz({"Chart.yaml": c}), "no CHART/Chart.yaml"),
        (lambda c: tgz({"a/Chart.yaml": c, "b/Chart.yaml": c}), "holds 2 charts"),
        (lambda c: tgz({"skynet/Chart.yaml": b"name: skynet\n"}), "has no apiVersion, version"),
        (lambda c: tgz({"skynet/Chart.yaml": c.replace(b"v2", b"v3")}), "apiVersion 'v3'"),
        (lambda c: tgz({"skynet/Chart.yaml": b"- a list\n"}), "not a YAML mapping"),
        (lambda c: tgz({"skynet/Chart.yaml": c, "skynet/values.yaml": b"[1, 2]\n"}),
         "values.yaml is not a YAML mapping"),
        (lambda c: tgz({"skynet/Chart.yaml": b"name: [unclosed\n"}), "not valid YAML"),
        (lambda c: c, "not a gzip'd tar archive"),
        (lambda c: gzip.compress(b"not a tar stream at all" * 30), "not a tar archive"),
        (lambda c: zap_zip(), "not a gzip'd tar archive"),
    ],
    ids=[
        "no-chart-yaml", "chart-yaml-at-the-top", "two-charts", "chart-yaml-without-fields",
        "unknown-api-version", "chart-yaml-not-a-mapping", "values-not-a-mapping", "bad-yaml",
        "plain-yaml", "gzip-of-no-tar", "a-zip",
    ],
)  # fmt: skip
def test_what_is_not_a_chart_is_refused(tmp_path: Path, archive: Any, expected: str) -> None:
    data = archive(_asset("helm/skynet/Chart.yaml"))
    assert expected in _refused(tmp_path, "HELM_CHART", data, "chart.tgz")


# -- typed evidence --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "document", "details"),
    [
        ("GHAS_CODE_SCAN", [{"number": 4, "state": "open", "rule": {"id": "py/sql-injection"}}],
         {"format": "JSON", "shape": "array", "entries": 1}),
        ("BLACKDUCK_SCA_JSON", {"items": [], "totalCount": 0}, {"format": "JSON", "shape": "object"}),
        ("CHAINLOOP_PR_INFO", {"number": 17, "title": "fix"}, {"format": "JSON", "shape": "object"}),
    ],
)  # fmt: skip
def test_json_typed_evidence_records_its_shape(
    tmp_path: Path, kind: str, document: object, details: dict[str, object]
) -> None:
    assert _read(tmp_path, kind, _json(document)) == details


def test_json_typed_evidence_must_be_json(tmp_path: Path) -> None:
    assert "must be JSON" in _refused(tmp_path, "TWISTCLI_SCAN_JSON", b"Scan results: 0 found")
    assert "a JSON object or array" in _refused(tmp_path, "GHAS_SECRET_SCAN", b'"alerts"')


def test_opaque_kinds_keep_any_bytes_and_their_kind(tmp_path: Path) -> None:
    for kind in ("RADAMSA_CRASHES", "CERTCC_DRANZER", "SYSINTERNALS_SIGCHECK", "EVIDENCE"):
        path = tmp_path / "out.bin"
        path.write_bytes(b"\xff\xfe\x00binary")
        material, _ = read_material("m", kind, str(path))
        assert (material.kind, material.to_json()["type"], material.details) == (kind, kind, {})


def test_graphql_schema_is_text(tmp_path: Path) -> None:
    sdl = b"type Query {\n  target(id: ID!): Target\n}\n\ntype Target {\n  id: ID!\n}\n"
    assert _read(tmp_path, "GRAPHQL_SPEC", sdl) == {"format": "GraphQL"}
    assert "not UTF-8 text" in _refused(tmp_path, "GRAPHQL_SPEC", b"\xff\xfe\x00")


def test_attestation_is_a_signed_in_toto_statement(tmp_path: Path) -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "skynet", "digest": {"sha256": "3" * 64}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    }
    payload = base64.b64encode(_json(statement)).decode()
    envelope = _json({"payloadType": "application/vnd.in-toto+json", "payload": payload,
                      "signatures": [{"keyid": "", "sig": "MEUCIQ=="}]})  # fmt: skip
    details = _read(tmp_path, "ATTESTATION", envelope)
    assert details == {
        "format": "DSSE",
        "predicateType": "https://slsa.dev/provenance/v1",
        "subjects": 1,
    }
    empty = _asset("envelopes/dsse-empty-statement-unsigned.json")
    assert "its payload is not one" in _refused(tmp_path, "ATTESTATION", empty)
    sbom = _asset("sboms/cyclonedx-app-with-hashes.json")
    assert "not a DSSE envelope or Sigstore bundle" in _refused(tmp_path, "ATTESTATION", sbom)
    not_a_statement = _json({"payloadType": "text/plain", "payload": "aGVsbG8=", "signatures": []})
    assert "its payload is not one" in _refused(tmp_path, "ATTESTATION", not_a_statement)


def test_a_chart_packed_with_a_leading_dot_slash_is_read(tmp_path: Path) -> None:
    chart = _asset("helm/skynet/Chart.yaml")
    details = _read(tmp_path, "HELM_CHART", tgz({"./skynet/Chart.yaml": chart}))
    assert (details["name"], details["hasValues"]) == ("skynet", False)


def test_yaml_aliases_past_the_bound_are_refused(tmp_path: Path) -> None:
    lines = ["openapi: 3.1.0", "k0: &k0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 120):  # each level ten times the last: a billion laughs in YAML
        lines.append(f"k{i}: &k{i} [{', '.join([f'*k{i - 1}'] * 10)}]")
    bomb = ("\n".join(lines) + "\n").encode()
    assert "more than 1000 aliases" in _refused(tmp_path, "OPENAPI_SPEC", bomb)


@pytest.mark.parametrize(
    ("sample", "kind"),
    [
        ("csaf/vex-rapid-reset-known-not-affected.json", "CSAF_VEX"),
        ("csaf/security-incident-response-runner-token.json", "CSAF_SECURITY_INCIDENT_RESPONSE"),
        ("scans/gitlab-sast-semgrep-two-vulnerabilities.json", "GITLAB_SECURITY_REPORT"),
        ("scans/scorecard-v5-skynet.json", "OSSF_SCORECARD_JSON"),
        ("scans/checkmarx-one-sast-and-sca.json", "CHECKMARX_JSON"),
        ("secret-scans/gitleaks-redacted-two-findings.json", "GITLEAKS_JSON"),
        ("secret-scans/detect-secrets-baseline-one-file.json", "YELP_DETECT_SECRETS_BASELINE"),
        ("coverage/jacoco-skynet-core.xml", "JACOCO_XML"),
        ("coverage/cobertura-coveragepy-two-packages.xml", "COBERTURA_XML"),
        ("coverage/cobertura-with-doctype.xml", "COBERTURA_XML"),
        ("api-specs/swagger-2.0-petstore.json", "OPENAPI_SPEC"),
        ("junit/three-testcases.xml", "JUNIT_XML"),
        # Not told apart by content: added with --name or --kind.
        ("api-specs/openapi-3.1-skynet.yaml", "ARTIFACT"),
        ("secret-scans/trufflehog-filesystem-one-verified.jsonl", "ARTIFACT"),
    ],
)
def test_attest_add_without_a_name_tells_the_reports_that_say_what_they_are(
    sample: str, kind: str
) -> None:
    from attestlake.evidence.material_formats import sniff

    assert sniff(_asset(sample)) == kind


def test_archives_are_told_by_their_first_member_or_report_name() -> None:
    from attestlake.evidence.material_formats import sniff

    assert sniff(helm_package()) == "HELM_CHART"
    assert sniff(zap_zip()) == "ZAP_DAST_ZIP"
    assert sniff(tgz({"rootfs/etc/os-release": b"ID=debian\n"})) == "ARTIFACT"
    assert sniff(b"\x1f\x8b\x08 not really gzip") == "ARTIFACT"


def test_a_chart_or_report_given_as_a_url_is_refused_saying_it_is_not_fetched() -> None:
    with pytest.raises(MaterialError) as chart:
        read_material("chart", "HELM_CHART", "oci://ghcr.io/cyberdyne/charts/skynet:2.1.0")
    assert "'helm pull' it and add the .tgz" in str(chart.value)
    with pytest.raises(MaterialError) as report:
        read_material("vex", "CSAF_VEX", "https://psirt.cyberdyne.example/vex.json")
    assert "a CSAF_VEX is a local file, not a URL to fetch" in str(report.value)
