"""A Chainloop contract with the new material kinds, two "at least one of" groups and the
Dagger runner, run through the collector to a real registry and crawled: ``attest status``
says which group is unmet, ``push`` refuses until each group has a member, a file that is not
what its kind says is refused with the state file untouched, a ``skipUpload`` file is recorded
by digest and not pushed, and the lake's ``contract_requirements`` records the groups that
``non_compliant_workflows`` judges runs by."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.audit.queries import run_query
from attestlake.audit.query_files import get_query
from tests import assets
from tests.integration.cli_helpers import Result, run_cli
from tests.integration.collector_helpers import all_bytes
from tests.integration.registry_server import RegistryServer
from tests.lakefactory import RunSpec, build_lake, image_ref, when
from tests.unit.test_material_kinds import helm_package, zap_zip

CONTRACT = "contracts/chainloop-v1-release-sbom-and-coverage-groups.yaml"
DAGGER = assets.env("ci/dagger-in-gitlab-merge-request.json")
STATE = Path(".attestlake/attestation.json")
IMAGE = "registry.cyberdyne.example/skynet@sha256:" + "3" * 64
#: The files of a release, by material name (the groups' members apart).
FILES: dict[str, tuple[str, bytes]] = {
    "chart": ("skynet-2.1.0.tgz", helm_package()),
    "vex": ("vex.json", assets.path("csaf/vex-rapid-reset-known-not-affected.json").read_bytes()),
    "sast": ("gl-sast-report.json",
             assets.path("scans/gitlab-sast-semgrep-two-vulnerabilities.json").read_bytes()),
    "dast": ("zap_scan.zip", zap_zip()),
    "scorecard": ("scorecard.json", assets.path("scans/scorecard-v5-skynet.json").read_bytes()),
    "api": ("openapi.yaml", assets.path("api-specs/openapi-3.1-skynet.yaml").read_bytes()),
    "secrets": ("gitleaks.json",
                assets.path("secret-scans/gitleaks-redacted-two-findings.json").read_bytes()),
}  # fmt: skip


def _cli(cwd: Path, *args: str) -> Result:
    return run_cli(cwd, *args, env=DAGGER)


def _add(cwd: Path, name: str, file: str, data: bytes) -> Result:
    (cwd / file).write_bytes(data)
    return _cli(cwd, "attest", "add", "--name", name, "--value", file)


def _begin(cwd: Path, target: str) -> None:
    (cwd / "contract.yaml").write_bytes(assets.path(CONTRACT).read_bytes())
    assert run_cli(cwd, "keys", "generate", "--out", "ci").code == 0
    (cwd / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    init = _cli(
        cwd, "attest", "init", "--contract", "contract.yaml", "--workflow", "release",
        "--project", "skynet", "--to", target, "--key", "ci.key", "-a", "release=2.1.0",
    )  # fmt: skip
    assert init.code == 0, init.err
    assert _cli(cwd, "attest", "add", "--name", "image", "--value", IMAGE).code == 0
    for name, (file, data) in FILES.items():
        added = _add(cwd, name, file, data)
        assert added.code == 0, (name, added.err)


def _lines(result: Result) -> list[str]:
    return [line.strip() for line in result.out.splitlines()]


@pytest.mark.registry
def test_a_release_is_pushed_once_each_group_has_a_member_and_crawled_with_its_groups(
    tmp_path: Path, registry: RegistryServer
) -> None:
    target = f"{registry.host}/skynet/attestations"
    _begin(tmp_path, target)

    status = _cli(tmp_path, "attest", "status")
    assert status.code == 3
    assert "group sbom (at least one of sbom-cyclonedx, sbom-spdx): unmet: add one of them" in (
        _lines(status)
    )
    assert "missing: one of group sbom (sbom-cyclonedx, sbom-spdx), one of group coverage " in (
        status.out
    )
    assert "at least one material of group coverage is required" in status.out
    as_json = _cli(tmp_path, "attest", "status", "--json")
    assert as_json.code == 3 and as_json.json()["groups"] == [
        {"name": "sbom", "members": ["sbom-cyclonedx", "sbom-spdx"], "metBy": []},
        {"name": "coverage", "members": ["coverage-jacoco", "coverage-cobertura"], "metBy": []},
    ]

    before = (tmp_path / STATE).read_bytes(), all_bytes(registry.workdir / "data")
    refused = _cli(tmp_path, "attest", "push")
    assert refused.code == 3
    assert "one of group sbom (sbom-cyclonedx, sbom-spdx)" in refused.err
    assert "Nothing was pushed" in refused.err
    assert ((tmp_path / STATE).read_bytes(), all_bytes(registry.workdir / "data")) == before

    spdx = assets.path("sboms/spdx-two-packages.json").read_bytes()
    assert _add(tmp_path, "sbom-spdx", "sbom.spdx.json", spdx).code == 0
    jacoco = assets.path("coverage/jacoco-skynet-core.xml").read_bytes()
    assert _add(tmp_path, "coverage-jacoco", "jacoco.xml", jacoco).code == 0
    ready = _cli(tmp_path, "attest", "status")
    assert ready.code == 0, ready.out
    assert "group coverage (at least one of coverage-jacoco, coverage-cobertura): met by " \
        "coverage-jacoco" in _lines(ready)  # fmt: skip

    pushed = _cli(tmp_path, "attest", "push")
    assert pushed.code == 0, pushed.err
    stored = all_bytes(registry.workdir / "data")
    zap = FILES["dast"][1]
    assert zap not in stored  # skipUpload: recorded by digest, not pushed
    assert FILES["chart"][1] in stored and jacoco in stored
    state = json.loads((tmp_path / STATE).read_text())
    recorded = {m["name"]: m for m in state["materials"]}
    assert recorded["dast"]["digest"] == {"sha256": hashlib.sha256(zap).hexdigest()}
    assert recorded["chart"]["details"]["name"] == "skynet"

    crawled = _cli(tmp_path, "crawl", "--from", target, "--lake", "lake", "--trust", "trust.yaml")
    assert crawled.code == 0, crawled.err
    assert _requirements(tmp_path / "lake") == [
        ("coverage-cobertura", "COBERTURA_XML", "coverage", False),
        ("coverage-jacoco", "JACOCO_XML", "coverage", False),
        ("sbom-cyclonedx", "SBOM_CYCLONEDX_JSON", "sbom", False),
        ("sbom-spdx", "SBOM_SPDX_JSON", "sbom", False),
    ]
    with open_lake(tmp_path / "lake") as lake:
        runner = lake.sql("SELECT runner_type FROM runs").to_pylist()
    assert runner == [{"runner_type": "DAGGER_PIPELINE"}]
    report = _cli(
        tmp_path, "query", "run", "non_compliant_workflows", "--lake", "lake", "-f", "json"
    )
    assert report.code == 0 and report.json()["rows"] == [], report.out


def _requirements(lake: Path) -> list[tuple[Any, ...]]:
    with open_lake(lake) as opened:
        rows = opened.sql(
            "SELECT material_name, material_type, material_group, optional "
            "FROM contract_requirements WHERE material_group IS NOT NULL ORDER BY material_name"
        ).to_pylist()
    return [tuple(r.values()) for r in rows]


@pytest.mark.parametrize(
    ("name", "file", "sample", "expected"),
    [
        ("chart", "chart.tgz", "helm/skynet/values.yaml", "not a gzip'd tar archive"),
        ("vex", "vex.json", "openvex/vexctl-clears-rapid-reset-and-grpc.json", "not a CSAF document"),
        ("coverage-jacoco", "cov.xml", "coverage/cobertura-with-doctype.xml", "not a JaCoCo"),
        ("scorecard", "sc.json", "scans/gitlab-sast-semgrep-two-vulnerabilities.json",
         "not an OpenSSF Scorecard result"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_what_its_kind_says_is_refused_and_nothing_is_recorded(
    tmp_path: Path, name: str, file: str, sample: str, expected: str
) -> None:
    _begin(tmp_path, "oci:store")
    before = (tmp_path / STATE).read_bytes()
    refused = _add(tmp_path, name, file, assets.path(sample).read_bytes())
    assert refused.code == 1 and refused.out == "" and "Traceback" not in refused.err
    assert expected in refused.err and file in refused.err
    after = (tmp_path / STATE).read_bytes()
    assert after == before


GROUPED = """\
apiVersion: chainloop.dev/v1
kind: Contract
metadata:
  name: release
  revision: {revision}
spec:
  materials:
    - {{type: CONTAINER_IMAGE, name: image, output: true}}
{more}"""
SBOM_GROUP = """\
    - {type: SBOM_CYCLONEDX_JSON, name: sbom-cyclonedx, group: sbom}
    - {type: SBOM_SPDX_JSON, name: sbom-spdx, group: sbom}
"""


def test_non_compliant_workflows_finds_a_run_that_meets_no_member_of_a_group(
    tmp_path: Path,
) -> None:
    spdx = str(assets.path("sboms/spdx-two-packages.json"))
    built = build_lake(
        tmp_path,
        contracts={
            "r1": GROUPED.format(revision=1, more=""),
            "r2": GROUPED.format(revision=2, more=SBOM_GROUP),
        },
        runs=[
            RunSpec("skynet", "release", "r1", when(2024, 5, 1), {"image": image_ref("a")}),
            RunSpec("t800", "release", "r2", when(2024, 5, 2),
                    {"image": image_ref("b"), "sbom-spdx": spdx}),
        ],
    )  # fmt: skip
    with open_lake(built.lake_path) as lake:
        rows = run_query(lake, get_query("non_compliant_workflows")).rows
    assert [
        (r["project"], r["problem"], r["missing_material"], r["missing_material_type"])
        for r in rows
    ] == [
        (
            "skynet",
            "missing material group",
            "sbom-cyclonedx or sbom-spdx",
            "SBOM_CYCLONEDX_JSON or SBOM_SPDX_JSON",
        )
    ]


def test_contract_lint_takes_the_chainloop_contract_and_prints_its_groups(tmp_path: Path) -> None:
    (tmp_path / "release.yaml").write_bytes(assets.path(CONTRACT).read_bytes())
    linted = run_cli(tmp_path, "contract", "lint", "release.yaml")
    assert linted.code == 0, linted.err
    assert _lines(linted)[1:] == [
        "group sbom: at least one of sbom-cyclonedx (SBOM_CYCLONEDX_JSON) or sbom-spdx "
        "(SBOM_SPDX_JSON)",
        "group coverage: at least one of coverage-jacoco (JACOCO_XML) or coverage-cobertura "
        "(COBERTURA_XML)",
    ]
    misspelt = assets.path(CONTRACT).read_bytes().replace(b"HELM_CHART", b"HELM_CHARTS")
    (tmp_path / "misspelt.yaml").write_bytes(misspelt)
    refused = run_cli(tmp_path, "contract", "lint", "misspelt.yaml")
    assert refused.code == 1 and refused.out == ""
    assert "misspelt.yaml:15: spec.materials[1].type: unknown material type 'HELM_CHARTS'" in (
        refused.err
    )
