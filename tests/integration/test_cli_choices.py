"""Options that take one of a few values: a value outside them is a usage error (exit 2) that
lists every valid value, before anything runs; any case is accepted. And SQL errors over the
lake: DuckDB's suggestions name only what a lake user can use, never its catalog's internals
or the relations a lake session registers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from attestlake.demo.demo import DemoResult
from attestlake.errors import LakeError
from attestlake.lake.lake import Lake
from attestlake.lake.sql_errors import internal
from tests.integration.cli_helpers import run_cli
from tests.security.lake_fixtures import listing


@pytest.fixture
def workdir(tmp_path: Path, demo: DemoResult) -> Path:
    """A directory whose ``lake`` is a copy of the demo lake."""
    shutil.copytree(demo.lake, tmp_path / "lake")
    return tmp_path


@pytest.mark.parametrize(
    ("command", "option", "valid"),
    [
        (("report", "--lake", "lake"), ("--format", "pdf"), "md, html, json"),
        (("report", "--lake", "lake"), ("--fail-on", "urgent"), "info, low, medium, high, critical"),
        (("query", "run", "missing_sbom_digests", "--lake", "lake"), ("-f", "pdf"),
         "table, json, csv, parquet"),
        (("sql", "--lake", "lake", "SELECT 1"), ("--format", "xml"), "table, json, csv, parquet"),
        (("query", "list"), ("--format", "yaml"), "table, json, csv"),
        (("verify", "x.json", "--trust", "t.yaml"), ("--format", "pdf"), "table, json"),
        (("lake", "check", "--lake", "lake"), ("-f", "md"), "table, json"),
        (("attest", "reset"), ("--trigger", "crash"), "failure, cancellation"),
        (("attest", "add", "--value", "x"), ("--kind", "SBOM"),
         "ARTIFACT, ASYNCAPI_SPEC, ATTESTATION, BLACKDUCK_SCA_JSON, CERTCC_DRANZER, "
         "CHAINLOOP_AI_AGENT_CONFIG, CHAINLOOP_AI_CODING_SESSION, CHAINLOOP_PR_INFO, "
         "CHAINLOOP_RUNNER_CONTEXT, CHECKMARX_JSON, COBERTURA_XML, CONTAINER_IMAGE, "
         "CSAF_INFORMATIONAL_ADVISORY, CSAF_SECURITY_ADVISORY, "
         "CSAF_SECURITY_INCIDENT_RESPONSE, CSAF_VEX, EVIDENCE, GHAS_CODE_SCAN, "
         "GHAS_DEPENDENCY_SCAN, GHAS_SECRET_SCAN, GITLAB_SECURITY_REPORT, GITLEAKS_JSON, "
         "GRAPHQL_SPEC, HELM_CHART, JACOCO_XML, JUNIT_XML, OPENAPI_SPEC, OPENVEX, "
         "OSSF_SCORECARD_JSON, RADAMSA_CRASHES, RADAMSA_REPORT, SARIF, SBOM_CYCLONEDX_JSON, "
         "SBOM_SPDX_JSON, SLSA_PROVENANCE, STRING, SYSINTERNALS_ACCESSCHK, "
         "SYSINTERNALS_SIGCHECK, TRUFFLEHOG_JSON, TWISTCLI_SCAN_JSON, "
         "YELP_DETECT_SECRETS_BASELINE, ZAP_DAST_ZIP"),
    ],
)  # fmt: skip
def test_a_bad_value_is_a_usage_error_listing_the_valid_ones(
    workdir: Path, command: tuple[str, ...], option: tuple[str, str], valid: str
) -> None:
    before = listing(workdir)
    r = run_cli(workdir, *command, *option)
    assert (r.code, r.out) == (2, ""), r.err
    message = " ".join(re.sub(r"[│╭╮╰╯─]", " ", r.err).split())  # typer draws a box
    assert f"Invalid value for '{option[0]}'" in message or f"'{option[0]}'" in message
    assert f"{option[1]!r} is not one of: {valid}" in message
    assert listing(workdir) == before


def test_severities_and_formats_are_taken_in_any_case(workdir: Path) -> None:
    lower = run_cli(workdir, "report", "--lake", "lake", "--format", "json", "--fail-on", "high")
    upper = run_cli(workdir, "report", "--lake", "lake", "--format", "JSON", "--fail-on", "High")
    assert lower.code == upper.code == 4  # the demo has high and critical findings
    assert lower.err == upper.err and "at severity high or above" in upper.err
    assert upper.json()["summary"] == lower.json()["summary"]
    assert upper.json()["max_severity"] == lower.json()["max_severity"] == "critical"
    critical = run_cli(workdir, "report", "--lake", "lake", "--fail-on", "CRITICAL")
    assert critical.code == 4 and "at severity critical or above" in critical.err


# -- SQL errors --------------------------------------------------------------------------------
TABLES = "the lake's tables: runs, run_events, subjects, materials,"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # tables: the lake's own suggested, anything else replaced by the lake's tables
        ("SELECT * FROM runz", 'Table with name runz does not exist!\nDid you mean "runs"?'),
        ("SELECT * FROM verification", 'Did you mean "verifications"?'),
        ("SELECT * FROM current_inventry", 'Did you mean "current_inventory"?'),
        ("SELECT * FROM temp.runz", 'Did you mean "runs"?'),  # DuckDB says "memory.runs"
        ("SELECT * FROM pg_clas", TABLES),
        ("SELECT * FROM sqlite_mastr", TABLES),
        ("SELECT * FROM _runs_schem", 'Did you mean "runs"?'),
        ("SELECT * FROM runs_schema", 'Did you mean "runs"?'),
        ("SELECT * FROM information_schema.tabls", TABLES),
        # columns
        ("SELECT workflw FROM runs", 'Candidate bindings: "workflow"'),
        ("SELECT x FROM (SELECT 1 AS y) AS t", 'Candidate bindings: "y"'),
        ("SELECT * FROM runs r WHERE r.workflw = 1", 'Table "r" does not have a column named'),
        # functions: ordinary ones suggested, catalog functions not
        ("SELECT lenght(workflow) FROM runs", 'Did you mean "length"?'),
        ("SELECT strftme(now(), '%Y')", 'Did you mean "strftime"?'),
        ("SELECT * FROM duckdb_tabls()", "Table Function with name duckdb_tabls does not exist!"),
        ("SELECT * FROM pragma_tabl_info('runs')", "with name pragma_tabl_info does not exist!"),
    ],
)
def test_sql_errors_name_only_what_a_lake_user_can_use(
    demo: DemoResult, tmp_path: Path, sql: str, expected: str
) -> None:
    with Lake.open(demo.lake) as lake, pytest.raises(LakeError) as raised:
        lake.sql(sql)
    message = str(raised.value)
    assert message.startswith("SQL error: ") and expected in message
    suggested = re.findall(r'Did you mean "([^"]*)"', message)
    suggested += re.findall(r'"([^"]*)"', "".join(re.findall(r"Candidate \w+: .*", message)))
    assert not [name for name in suggested if internal(name) or "." in name], message
    for hidden in ("memory.", "pg_class", "sqlite_master", "_runs_schema", "duckdb_tables",
                   "pragma_table_info", '"tables"', "Values list"):  # fmt: skip
        assert hidden not in message

    cli = run_cli(tmp_path, "sql", "--lake", str(demo.lake), sql)
    assert (cli.code, cli.out) == (1, "") and cli.err == f"error: {message}\n"
