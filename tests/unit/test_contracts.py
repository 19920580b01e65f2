"""Contracts: the three accepted spellings, what they yield, and lint errors with file:line: field."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from attestlake.contracts.contracts import load_contract, parse_contract
from attestlake.contracts.model import Annotation, Contract
from attestlake.errors import ContractError
from tests import assets
from tests.integration.cli_helpers import GITHUB_ENV, run_cli

ATTESTLAKE = assets.path("contracts/attestlake-v1-every-field.yaml").read_bytes()

CHAINLOOP = assets.path("contracts/chainloop-v1-gitlab.yaml").read_bytes()

LEGACY = assets.path("contracts/legacy-schema-v1-azure.yaml").read_bytes()


def _error(raw: bytes, source: str = "c.yaml") -> str:
    with pytest.raises(ContractError) as info:
        parse_contract(raw, source=source)
    return str(info.value)


# --- the three spellings -------------------------------------------------------------------


def test_attestlake_spelling_reads_every_part() -> None:
    c = parse_contract(ATTESTLAKE, source="contracts/container-build.yaml")

    assert c.name == "container-build"
    assert c.revision == 3
    assert c.api_version == "attestlake.dev/v1"
    assert [(m.name, m.kind) for m in c.materials] == [
        ("image", "CONTAINER_IMAGE"),
        ("sbom", "SBOM_CYCLONEDX_JSON"),
        ("tests", "JUNIT_XML"),
    ]
    assert c.env_allow_list == ("DEPLOY_ENV", "REGION")
    assert c.runner_types == ("GITHUB_ACTION",)
    assert c.raw == ATTESTLAKE


def test_required_optional_and_output_materials() -> None:
    c = parse_contract(ATTESTLAKE)

    image, sbom, tests = c.materials
    assert (image.optional, image.output) == (False, True)
    assert (sbom.optional, sbom.output) == (False, False)
    assert (tests.optional, tests.output) == (True, False)
    assert [m.name for m in c.required_materials()] == ["image", "sbom"]
    assert c.material("tests") is tests
    assert c.material("nope") is None


def test_annotations_with_and_without_value() -> None:
    c = parse_contract(ATTESTLAKE)

    assert c.annotations == (Annotation("compliance-tier", "standard"), Annotation("ticket", None))
    sbom = c.material("sbom")
    assert sbom is not None
    assert sbom.annotations == (Annotation("tool", "syft"), Annotation("scanner", None))


def test_empty_annotation_value_means_value_to_be_given() -> None:
    raw = ATTESTLAKE.replace(b"value: standard", b'value: ""')
    c = parse_contract(raw)
    assert c.annotations[0] == Annotation("compliance-tier", None)


def test_chainloop_v1_spelling() -> None:
    c = parse_contract(CHAINLOOP, source="library-release.yaml")

    assert c.name == "library-release"
    assert c.api_version == "chainloop.dev/v1"
    assert c.revision == 1
    assert [(m.name, m.kind, m.output) for m in c.materials] == [
        ("package", "ARTIFACT", True),
        ("version", "STRING", False),
    ]
    assert c.runner_types == ("GITLAB_PIPELINE",)
    assert c.env_allow_list == ()
    assert c.annotations == ()


def test_chainloop_legacy_schema_version_spelling() -> None:
    c = parse_contract(LEGACY, source="contracts/legacy-build.v1.yaml")

    # The legacy spelling has no metadata: the name comes from the file name.
    assert c.name == "legacy-build"
    assert c.revision == 1
    assert "schemaVersion" in c.api_version
    assert [(m.name, m.kind, m.optional, m.output) for m in c.materials] == [
        ("sbom", "SBOM_SPDX_JSON", False, False),
        ("binary", "ARTIFACT", True, True),
    ]
    assert [m.name for m in c.required_materials()] == ["sbom"]
    assert c.env_allow_list == ("FOO",)
    assert c.runner_types == ("AZURE_PIPELINE",)
    assert c.annotations == (Annotation("owner", "team-a"),)


def test_runner_type_may_be_a_list() -> None:
    raw = CHAINLOOP.replace(b"type: GITLAB_PIPELINE", b"type: [GITLAB_PIPELINE, GENERIC]")
    assert parse_contract(raw).runner_types == ("GITLAB_PIPELINE", "GENERIC")


def test_no_runner_means_any_runner() -> None:
    raw = b"apiVersion: attestlake.dev/v1\nkind: Contract\nmetadata:\n  name: x\n"
    c = parse_contract(raw)
    assert c.runner_types == ()
    assert c.materials == ()


# --- revision and digest -------------------------------------------------------------------


def test_revision_defaults_to_one() -> None:
    raw = ATTESTLAKE.replace(b"  revision: 3\n", b"")
    assert parse_contract(raw).revision == 1


def test_digest_is_sha256_of_the_exact_bytes() -> None:
    c = parse_contract(ATTESTLAKE)
    assert c.digest == "sha256:" + hashlib.sha256(ATTESTLAKE).hexdigest()


def test_digest_changes_when_one_byte_changes() -> None:
    # A trailing comment changes nothing in the parsed contract, but it changes the digest.
    changed = ATTESTLAKE + b"#"
    a, b = parse_contract(ATTESTLAKE), parse_contract(changed)
    assert a.materials == b.materials
    assert a.digest != b.digest
    assert b.digest == "sha256:" + hashlib.sha256(changed).hexdigest()


def test_summary_records_revision_and_digest() -> None:
    c = parse_contract(ATTESTLAKE)
    s = c.summary()
    assert s["name"] == "container-build"
    assert s["revision"] == 3
    assert s["digest"] == c.digest
    assert s["materials"][0] == {
        "name": "image",
        "type": "CONTAINER_IMAGE",
        "optional": False,
        "output": True,
    }
    assert s["annotations"] == ["compliance-tier", "ticket"]
    assert s["runnerTypes"] == ["GITHUB_ACTION"]


def test_load_contract_from_file(tmp_path: Path) -> None:
    path = tmp_path / "container-build.yaml"
    path.write_bytes(ATTESTLAKE)
    c = load_contract(path)
    assert isinstance(c, Contract)
    assert c.digest == "sha256:" + hashlib.sha256(ATTESTLAKE).hexdigest()


def test_sample_contracts_in_the_repository_are_valid() -> None:
    samples = Path(__file__).resolve().parents[2] / "sample_data" / "contracts"
    files = sorted(samples.glob("*.yaml"))
    assert files, f"no sample contracts under {samples}"
    for f in files:
        assert load_contract(f).materials, f


# --- lint errors: file, line and field path ------------------------------------------------


def test_unknown_material_type_names_the_line_of_type() -> None:
    raw = ATTESTLAKE.replace(b"type: JUNIT_XML", b"type: JUNIT")
    msg = _error(raw)
    # line 17 is "    - type: JUNIT"
    assert msg.startswith("c.yaml:17: spec.materials[2].type: ")
    assert "unknown material type 'JUNIT'" in msg
    assert "JUNIT_XML" in msg  # the accepted kinds are listed


def test_missing_material_name_names_the_list_item() -> None:
    raw = b"""\
apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: x
spec:
  materials:
    - type: ARTIFACT
      name: a
    - type: STRING
      optional: true
"""
    msg = _error(raw)
    # no "name" key: the line is the list item's, line 9
    assert msg.startswith("c.yaml:9: spec.materials[1].name: ")
    assert "needs a name" in msg


def test_missing_metadata_name() -> None:
    raw = b"apiVersion: attestlake.dev/v1\nkind: Contract\nmetadata:\n  revision: 2\nspec: {}\n"
    assert _error(raw).startswith("c.yaml:3: metadata: needs a string 'name'")


def test_bad_metadata_name() -> None:
    raw = ATTESTLAKE.replace(b"name: container-build", b"name: Container_Build")
    assert _error(raw).startswith("c.yaml:4: metadata.name: lower-case letters")


def test_duplicate_material_name_names_the_second_name_line() -> None:
    raw = ATTESTLAKE.replace(b"name: tests", b"name: sbom")
    msg = _error(raw)
    # line 18 is "      name: sbom" of the third material
    assert msg.startswith("c.yaml:18: spec.materials[2].name: ")
    assert "duplicate material name 'sbom'" in msg


@pytest.mark.parametrize("revision", [b"0", b"-1", b"two", b"1.5", b"true"])
def test_bad_revision(revision: bytes) -> None:
    raw = ATTESTLAKE.replace(b"revision: 3", b"revision: " + revision)
    msg = _error(raw)
    assert msg.startswith("c.yaml:5: metadata.revision: must be a whole number from 1")


def test_unknown_top_level_field() -> None:
    raw = ATTESTLAKE + b"extra: 1\n"
    assert _error(raw).startswith("c.yaml:29: extra: unknown field")


def test_unknown_spec_field() -> None:
    raw = ATTESTLAKE.replace(b"  envAllowList:", b"  envAllowlist:")
    assert _error(raw).startswith("c.yaml:20: spec.envAllowlist: unknown field")


def test_unknown_top_level_field_in_legacy_spelling() -> None:
    raw = LEGACY.replace(b"envAllowList:", b"env:")
    assert _error(raw).startswith("c.yaml:9: env: unknown field")


def test_unknown_material_field() -> None:
    raw = ATTESTLAKE.replace(b"      optional: true", b"      optionl: true")
    assert _error(raw).startswith("c.yaml:19: spec.materials[2].optionl: unknown field")


def test_material_flag_must_be_boolean() -> None:
    raw = ATTESTLAKE.replace(b"optional: true", b'optional: "yes"')
    assert _error(raw).startswith("c.yaml:19: spec.materials[2].optional: must be true or false")


def test_wrong_api_version() -> None:
    raw = ATTESTLAKE.replace(b"attestlake.dev/v1", b"attestlake.dev/v2")
    msg = _error(raw)
    assert msg.startswith("c.yaml:1: apiVersion: must be attestlake.dev/v1 or chainloop.dev/v1")


def test_wrong_legacy_schema_version() -> None:
    raw = LEGACY.replace(b"schemaVersion: v1", b"schemaVersion: v2")
    assert _error(raw).startswith("c.yaml:1: schemaVersion: must be v1")


def test_wrong_kind() -> None:
    raw = ATTESTLAKE.replace(b"kind: Contract", b"kind: Workflow")
    assert _error(raw).startswith("c.yaml:2: kind: must be Contract")


def test_bad_runner_type_names_the_type_line() -> None:
    raw = ATTESTLAKE.replace(b"type: GITHUB_ACTION", b"type: TRAVIS")
    msg = _error(raw)
    # line 24 is "    type: TRAVIS" under "  runner:"
    assert msg.startswith("c.yaml:24: spec.runner.type: unknown runner type 'TRAVIS'")
    assert "GITHUB_ACTION" in msg


def test_runner_without_type() -> None:
    raw = ATTESTLAKE.replace(b"    type: GITHUB_ACTION", b"    kind: GITHUB_ACTION")
    assert _error(raw).startswith("c.yaml:23: spec.runner: must be a mapping with 'type'")


def test_env_allow_list_not_a_list() -> None:
    raw = ATTESTLAKE.replace(
        b"  envAllowList:\n    - DEPLOY_ENV\n", b"  envAllowList: DEPLOY_ENV\n"
    )
    msg = _error(raw)
    assert msg.startswith("c.yaml:20: spec.envAllowList: must be a list of environment variable")


def test_env_allow_list_entry_not_a_variable_name() -> None:
    raw = ATTESTLAKE.replace(b"- REGION", b"- 1REGION")
    assert _error(raw).startswith("c.yaml:20: spec.envAllowList: ")


def test_annotation_without_name() -> None:
    raw = ATTESTLAKE.replace(b"    - name: ticket", b"    - value: ticket")
    msg = _error(raw)
    assert msg.startswith("c.yaml:28: spec.annotations[1]: each annotation needs a string 'name'")


def test_invalid_yaml_gives_the_line() -> None:
    raw = b"apiVersion: attestlake.dev/v1\nkind: Contract\nmetadata:\n  name: a: b\n"
    msg = _error(raw)
    assert re.match(r"c\.yaml:(line )?4: not valid YAML", msg), msg


def test_not_a_mapping() -> None:
    assert _error(b"- a\n- b\n").startswith("c.yaml:1: contract: must be a YAML mapping")


def test_empty_file_is_not_a_contract() -> None:
    assert "must be a YAML mapping" in _error(b"")


def test_file_missing(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ContractError, match="no such contract file") as info:
        load_contract(path)
    assert str(path) in str(info.value)


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(ATTESTLAKE.replace(b"standard", "ständard".encode("latin-1")))
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert str(info.value) == f"{path}: not UTF-8 text"


def test_error_names_the_file_path_given_to_load(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(ATTESTLAKE.replace(b"kind: Contract", b"kind: Workflow"))
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert str(info.value).startswith(f"{path}:2: kind: ")


def test_chainloop_rego_policies_are_never_silently_ignored(tmp_path: Path) -> None:
    path = assets.path("contracts/chainloop-v1-with-rego-policies.yaml")
    contract = parse_contract(path.read_bytes(), source=str(path))
    assert contract.rego_policies == (
        "sbom-banned-licenses",
        "embedded policy",
        "source-commit",
        "sbom-quality",
    )
    warning = contract.ignored_policies_warning()
    assert warning is not None and "does not evaluate Rego policies" in warning
    assert parse_contract(CHAINLOOP).ignored_policies_warning() is None
    (tmp_path / "c.yaml").write_bytes(path.read_bytes())
    linted = run_cli(tmp_path, "contract", "lint", "c.yaml")
    assert linted.code == 0 and linted.out.startswith("OK c.yaml")
    assert "warning: contract image-with-policies names Chainloop policies" in linted.err
    init = run_cli(
        tmp_path,
        *("attest", "init", "--contract", "c.yaml", "--workflow", "w", "--project", "p"),
        env=GITHUB_ENV,
    )
    assert init.code == 0, init.err
    assert "sbom-banned-licenses, embedded policy, source-commit, sbom-quality" in init.err
    pushed = run_cli(tmp_path, "contract", "push", "c.yaml", "--to", "oci:store", "--unsigned")
    assert pushed.code == 0, pushed.err
    assert "warning: contract image-with-policies names Chainloop policies" in pushed.err


# --- attestlake policies -------------------------------------------------------------------------
POLICY_CONTRACT = b"""apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: app-build
spec:
  policies:
"""


def test_an_attestlake_contract_names_policies_with_parameters() -> None:
    raw = POLICY_CONTRACT + (
        b"    - sbom_covers_image\n"
        b"    - policy: checks/no-gpl.sql\n"
        b"      with:\n"
        b"        deny: GPL-3.0-only\n"
        b"        max: 3\n"
        b"        strict: true\n"
    )
    c = parse_contract(raw)
    assert [(p.policy, p.params, p.is_file) for p in c.policies] == [
        ("sbom_covers_image", (), False),
        ("checks/no-gpl.sql", (("deny", "GPL-3.0-only"), ("max", "3"), ("strict", "true")), True),
    ]
    assert c.rego_policies == () and c.ignored_policies_warning() is None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (b"    sbom_covers_image\n", "c.yaml:6: spec.policies: must be a list of policies"),
        (b"    - 3\n", "c.yaml:7: spec.policies[0]: must be a policy name, a .sql path"),
        (
            b"    - policy: denied_licences\n      gate: true\n",
            "c.yaml:8: spec.policies[0].gate: unknown field (expected policy, with)",
        ),
        (b"    - with: {a: b}\n", "c.yaml:7: spec.policies[0].policy: needs 'policy'"),
        (
            b"    - Denied Licences\n",
            "c.yaml:7: spec.policies[0]: 'Denied Licences' is neither a library policy's name",
        ),
        (
            b"    - /etc/checks/x.sql\n",
            "c.yaml:7: spec.policies[0]: '/etc/checks/x.sql': a policy file is a path relative",
        ),
        (
            b"    - policy: denied_licences\n      with: [deny]\n",
            "c.yaml:8: spec.policies[0].with: must be a mapping of parameter names to values",
        ),
        (
            b"    - policy: denied_licences\n      with:\n        deny: [GPL-3.0-only]\n",
            "c.yaml:9: spec.policies[0].with.deny: must be a string, number or true/false",
        ),
        (
            b"    - policy: denied_licences\n      with:\n        deny-list: x\n",
            "c.yaml:8: spec.policies[0].with: 'deny-list' is not a parameter name",
        ),
        (
            b"    - denied_licences\n    - policy: denied_licences\n",
            "c.yaml:8: spec.policies[1]: policy 'denied_licences' is named twice",
        ),
    ],
    ids=[
        "not-a-list",
        "number",
        "unknown-key",
        "no-policy",
        "bad-name",
        "absolute-path",
        "with-list",
        "nested-value",
        "bad-param-name",
        "twice",
    ],
)
def test_a_policy_entry_that_is_wrong_names_the_field(entries: bytes, message: str) -> None:
    assert _error(POLICY_CONTRACT + entries).startswith(message)


def test_a_chainloop_contract_keeps_its_policies_as_rego() -> None:
    path = assets.path("contracts/chainloop-v1-with-rego-policies.yaml")
    contract = parse_contract(path.read_bytes(), source=str(path))
    assert contract.policies == () and contract.rego_policies


# --- Chainloop's material types, runners and "at least one of" groups ----------------------
RELEASE = assets.path("contracts/chainloop-v1-release-sbom-and-coverage-groups.yaml").read_bytes()


def test_a_chainloop_contract_with_the_new_types_groups_and_runner_lints() -> None:
    c = parse_contract(RELEASE, source="skynet-release.yaml")

    assert c.runner_types == ("DAGGER_PIPELINE",)
    assert [m.kind for m in c.materials][:2] == ["CONTAINER_IMAGE", "HELM_CHART"]
    assert {m.kind for m in c.materials} >= {"CSAF_VEX", "GITLAB_SECURITY_REPORT", "ZAP_DAST_ZIP"}
    groups = c.groups()
    assert [(g.name, [m.name for m in g.members]) for g in groups] == [
        ("sbom", ["sbom-cyclonedx", "sbom-spdx"]),
        ("coverage", ["coverage-jacoco", "coverage-cobertura"]),
    ]
    required = {m.name for m in c.required_materials()}
    assert "sbom-cyclonedx" not in required and "image" in required  # groups are met as groups
    assert {m.name for m in c.optional_materials()} == {
        "code-scanning",
        "pr-info",
        "upstream-build",
    }
    assert [m.name for m in c.materials if m.skip_upload] == ["dast"]


def test_the_legacy_spelling_takes_groups_and_the_teamcity_runner() -> None:
    c = load_contract(assets.path("contracts/legacy-schema-v1-teamcity-helm-csaf.yaml"))
    assert c.runner_types == ("TEAMCITY_PIPELINE",)
    assert [g.describe() for g in c.groups()] == [
        "advisory (CSAF_SECURITY_ADVISORY) or guidance (CSAF_INFORMATIONAL_ADVISORY)"
    ]


def test_the_recorded_summary_names_each_material_group() -> None:
    materials = parse_contract(RELEASE).summary()["materials"]
    by_name = {m["name"]: m for m in materials}
    assert by_name["sbom-spdx"]["group"] == "sbom"
    assert "group" not in by_name["image"]
    assert by_name["dast"]["skipUpload"] is True


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"group: sbom\n", b"group: SBOM\n", "group: a group name: lower-case letters"),
        (b"group: sbom\n", b"group: [sbom]\n", "group: a group name"),
        (b"skipUpload: true", b"skipUpload: yes-please", "skipUpload: must be true or false"),
        (b"      group: coverage\n", b"      groups: coverage\n", "unknown field (expected type,"),
    ],
    ids=["upper-case-group", "group-not-a-string", "skip-upload-not-boolean", "misspelt-group"],
)
def test_a_wrong_group_or_skip_upload_names_the_field_and_line(
    old: bytes, new: bytes, message: str
) -> None:
    error = _error(RELEASE.replace(old, new, 1))
    assert re.match(r"c\.yaml:\d+: spec\.materials\[\d+\]\.(group|groups|skipUpload): ", error)
    assert message in error


def test_an_empty_group_is_no_group() -> None:
    c = parse_contract(RELEASE.replace(b"group: sbom\n", b'group: ""\n', 1))
    assert c.material("sbom-cyclonedx") is not None
    assert c.material("sbom-cyclonedx").group is None  # type: ignore[union-attr]
    assert [m.name for m in c.groups()[0].members] == ["sbom-spdx"]


def test_contract_changes_name_group_moves() -> None:
    from attestlake.contracts.model import contract_changes

    old = parse_contract(RELEASE)
    new = parse_contract(
        RELEASE.replace(b"      group: coverage\n", b"", 1).replace(
            b"    - type: CSAF_VEX\n      name: vex\n",
            b"    - type: CSAF_VEX\n      name: vex\n      group: sbom\n",
        )
    )
    changes = contract_changes(old, new)
    assert "takes material coverage-jacoco out of group coverage" in changes
    assert "puts material vex in group sbom" in changes
