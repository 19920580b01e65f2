"""Normalisation by predicate family, from outcomes built by hand (no signatures needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from attestlake.crawl.normalize import FAMILIES, Context, inspect_unit, normalise
from attestlake.crawl.normalize.common import get, ts
from attestlake.crawl.normalize.sbom import sbom_rows
from attestlake.crawl.sources import Document, Unit
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE
from attestlake.lake.tables import BY_NAME, CRAWL_COLUMNS
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED, Outcome
from attestlake.verify.verify import load_policy
from tests import assets

NOW = datetime(2024, 6, 1, tzinfo=UTC)
KEY = "sha256:" + "1" * 64
ENV = "sha256:" + "2" * 64


def ctx(statement: dict[str, Any], *, verified: bool = True, **kw: Any) -> Context:
    outcome = Outcome(
        VERIFIED if verified else NOT_VERIFIED,
        signer="signer",
        issuer="issuer",
        predicate_type=statement.get("predicateType"),
        statement=statement,
    )
    return Context(KEY, ENV, "src:tag", outcome, "sha256:" + "3" * 64, **kw)


def check_schema(rows: dict[str, list[dict[str, Any]]]) -> None:
    """Every row has exactly its table's columns (as the lake's writer needs), but those the
    crawler fills in: which crawl and batch wrote it, and maybe when."""
    for table, table_rows in rows.items():
        names = set(BY_NAME[table].schema.names) - {name for name, _ in CRAWL_COLUMNS}
        for row in table_rows:
            assert set(row) == names - {"crawled_at", "crawl_date"} or set(row) == names, table


def statement(ptype: str, predicate: Any, subjects: list[Any] | None = None) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects
        if subjects is not None
        else [{"name": "a", "digest": {"sha256": "ab"}}],
        "predicateType": ptype,
        "predicate": predicate,
    }


def test_every_family_is_dispatched_by_predicate_type() -> None:
    assert FAMILIES[RUN_PREDICATE_TYPE].__name__.endswith(".run")
    assert FAMILIES["https://slsa.dev/provenance/v0.2"].__name__.endswith(".slsa")
    assert FAMILIES["chainloop.dev/attestation/v0.2"].__name__.endswith(".chainloop")
    assert FAMILIES["https://slsa.dev/verification_summary/v1"].__name__.endswith(".vsa")


def test_slsa_v02_provenance() -> None:
    pred = {
        "builder": {"id": "https://github.com/slsa-framework/slsa-github-generator@v1"},
        "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
        "invocation": {
            "configSource": {
                "uri": "git+https://github.com/o/r@refs/tags/v1.2.0",
                "digest": {"sha1": "f" * 40},
                "entryPoint": ".github/workflows/release.yml",
            },
            "parameters": {"x": 1},
            "environment": {"github_run_id": "7"},
        },
        "metadata": {"buildInvocationId": "7-1", "buildStartedOn": "2024-03-02T10:00:00Z"},
        "materials": [{"uri": "git+https://github.com/o/r@refs/tags/v1.2.0"}],
    }
    rows = normalise(ctx(statement("https://slsa.dev/provenance/v0.2", pred))).by_table
    check_schema(rows)
    (prov,) = rows["provenance"]
    assert prov["slsa_version"] == "0.2"
    assert (prov["source_repo"], prov["source_ref"], prov["source_commit"]) == (
        "https://github.com/o/r",
        "refs/tags/v1.2.0",
        "f" * 40,
    )
    assert prov["entry_point"] == ".github/workflows/release.yml"
    assert prov["invocation_id"] == "7-1" and prov["build_date"] == "2024-03-02"
    assert json.loads(prov["internal_parameters"]) == {"github_run_id": "7"}
    assert rows["subjects"][0]["run_date"] == "2024-03-02"


def test_attestlake_provenance_names_its_run() -> None:
    pred = {
        "buildDefinition": {
            "buildType": "https://attestlake.dev/buildtypes/ci-run/v1",
            "externalParameters": {
                "workflow": {"name": "build", "project": "p"},
                "source": {"repository": "https://git/x", "ref": "main", "commit": "c1"},
            },
        },
        "runDetails": {"byproducts": [{"name": "attestlake-run", "uri": "attestlake:run/r-1"}]},
    }
    rows = normalise(ctx(statement("https://slsa.dev/provenance/v1", pred))).by_table
    (prov,) = rows["provenance"]
    assert (prov["run_id"], prov["source_repo"], prov["source_commit"]) == (
        "r-1",
        "https://git/x",
        "c1",
    )


@pytest.mark.parametrize("snake", [False, True])
def test_chainloop_runs_and_materials(snake: bool) -> None:
    meta = {
        "workflowRunID": "run-9",
        "workflowName": "build",
        "project": "cl",
        "team": "",
        "contractName": "c",
        "contractVersion": "3",
        "initializedAt": "2023-05-03T17:22:12.743426076Z",
    }
    if snake:
        meta = {
            "workflow_run_id": "run-9",
            "workflow_name": "build",
            "project": "cl",
            "contract_name": "c",
            "contract_version": "3",
            "initialized_at": "2023-05-03T17:22:12.743426076Z",
        }
    pred = {
        "metadata": meta,
        "runnerType": "GITHUB_ACTION",
        "runnerURL": "https://gh/run/9",
        "env": {"GITHUB_SHA": "abc"},
        "materials": [
            {
                "annotations": {
                    "chainloop.material.name": "img",
                    "chainloop.material.type": "CONTAINER_IMAGE",
                },
                "digest": {"sha256": "aa"},
                "name": "index.docker.io/nginx",
            },
            {
                "annotations": {
                    "chainloop.material.name": "ref",
                    "chainloop.material.type": "STRING",
                },
                "content": "YS1zdHJpbmc=",
            },
        ],
    }
    subjects = [
        {
            "name": "index.docker.io/nginx",
            "digest": {"sha256": "aa"},
            "annotations": {"chainloop.material.name": "img"},
        }
    ]
    stmt = {
        "type": "https://in-toto.io/Statement/v1",
        "predicate_type": "chainloop.dev/attestation/v0.2",
        "subject": subjects,
        "predicate": pred,
    }
    outcome = Outcome(
        VERIFIED, signer="s", statement=stmt, predicate_type="chainloop.dev/attestation/v0.2"
    )
    rows = normalise(Context(KEY, ENV, "x", outcome)).by_table
    check_schema(rows)
    (run,) = rows["runs"]
    assert (run["run_id"], run["workflow"], run["contract_revision"], run["commit"]) == (
        "run-9",
        "build",
        3,
        "abc",
    )
    assert run["started_at"] == datetime(2023, 5, 3, 17, 22, 12, 743426, tzinfo=UTC)
    assert run["team"] is None
    image, string = rows["materials"]
    assert image["value"] == "index.docker.io/nginx@sha256:aa" and image["output"] is True
    assert string["value"] == "a-string" and string["type"] == "STRING"
    assert rows["subjects"][0]["material_name"] == "img"


def test_witness_collection_with_sbom() -> None:
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [{"name": "musl", "version": "1"}],
    }
    pred = {
        "name": "build",
        "attestations": [
            {
                "type": "https://witness.dev/attestations/git/v0.1",
                "attestation": {},
                "starttime": "2024-01-01T00:00:00Z",
            },
            {"type": "https://cyclonedx.org/bom", "attestation": sbom},
            "not an object",
        ],
    }
    rows = normalise(
        ctx(statement("https://witness.testifysec.com/attestation-collection/v0.1", pred))
    ).by_table
    check_schema(rows)
    assert [r["attestation_type"] for r in rows["witness_attestations"]] == [
        "https://witness.dev/attestations/git/v0.1",
        "https://cyclonedx.org/bom",
        None,
    ]
    (component,) = rows["sbom_components"]
    assert (component["name"], component["carrier"], component["trusted"]) == (
        "musl",
        "witness",
        True,
    )


def test_sbom_predicates_cyclonedx_nested_and_spdx() -> None:
    cdx = assets.data("sboms/cyclonedx-1.6-nested-component-licensed.json")
    rows = normalise(ctx(statement("https://cyclonedx.org/bom/v1.6", cdx))).by_table
    check_schema(rows)
    comps = rows["sbom_components"]
    assert [c["name"] for c in comps] == ["a", "a-child"]
    assert (
        comps[0]["licenses"] == '["MIT OR Apache-2.0"]' and comps[0]["hashes"] == '{"sha256":"00"}'
    )
    spdx = assets.data("sboms/spdx-2.3-one-maven-package.json")
    (pkg,) = normalise(ctx(statement("https://spdx.dev/Document", spdx))).by_table[
        "sbom_components"
    ]
    assert (pkg["purl"], pkg["licenses"], pkg["hashes"], pkg["sbom_format"]) == (
        "pkg:maven/a@1",
        '["MIT"]',
        '{"sha1":"99"}',
        "SPDX",
    )


def test_unknown_predicates_keep_only_subjects() -> None:
    rows = normalise(ctx(statement("https://example.com/custom/v1", {"x": [1, 2]}))).by_table
    assert set(rows) == {"subjects"}
    assert rows["subjects"][0]["predicate_type"] == "https://example.com/custom/v1"


@pytest.mark.parametrize(
    "predicate",
    [
        None,
        [],
        "text",
        {"run": "x", "workflow": [], "materials": {"a": 1}, "contract": 3},
        {"buildDefinition": [], "runDetails": "x"},
        {"metadata": [1], "materials": [1, None]},
        {"attestations": {"a": 1}},
        {"bomFormat": "CycloneDX", "components": [[], {"hashes": "x"}]},
    ],
)
@pytest.mark.parametrize(
    "ptype",
    [
        RUN_PREDICATE_TYPE,
        "https://slsa.dev/provenance/v1",
        "https://slsa.dev/provenance/v0.2",
        "chainloop.dev/attestation/v0.2",
        "https://witness.testifysec.com/attestation-collection/v0.1",
        "https://slsa.dev/verification_summary/v1",
        "https://cyclonedx.org/bom",
    ],
)
def test_hostile_predicates_never_raise(ptype: str, predicate: Any) -> None:
    rows = normalise(ctx(statement(ptype, predicate, subjects=[1, {"digest": "x"}, {"name": 3}])))
    check_schema(rows.by_table)


def test_unverified_documents_never_reach_trusted_tables(tmp_path: Path) -> None:
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    stmt = statement(
        RUN_PREDICATE_TYPE, {"run": {"id": "r"}, "workflow": {"name": "w", "project": "p"}}
    )
    bare = json.dumps(stmt).encode()
    sbom = json.dumps({"bomFormat": "CycloneDX", "components": [{"name": "x"}]}).encode()
    unit = Unit(
        KEY, "f", (Document(ENV, bare), Document(KEY, sbom), Document(KEY, None, "too big"))
    )
    rows = inspect_unit(unit, load_policy(tmp_path / "trust.yaml"), NOW).by_table
    check_schema(rows)
    assert set(rows) == {"attestations", "sbom_components", "verifications"}
    assert [r["status"] for r in rows["verifications"]] == [NOT_VERIFIED] * 3
    assert rows["verifications"][0]["run_id"] == "r"  # a claim, recorded for the audit
    assert rows["verifications"][1]["format"] == "cyclonedx"
    assert rows["verifications"][2]["reason"] == "malformed"
    assert (
        rows["attestations"][0]["trusted"] is False
        and rows["attestations"][0]["statement"] == bare.decode()
    )
    assert rows["sbom_components"][0]["trusted"] is False


def test_unreadable_unit_is_one_malformed_row(tmp_path: Path) -> None:
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    unit = Unit(KEY, "store:tag", error="manifest unreadable: not JSON")
    (row,) = inspect_unit(unit, load_policy(tmp_path / "trust.yaml"), NOW).by_table["verifications"]
    assert (row["reason"], row["envelope_digest"], row["detail"]) == (
        "malformed",
        KEY,
        "manifest unreadable: not JSON",
    )


def test_evidence_sbom_is_trusted_only_when_the_statement_names_its_digest() -> None:
    import hashlib

    sbom = json.dumps({"bomFormat": "CycloneDX", "components": [{"name": "x"}]}).encode()
    other = json.dumps({"bomFormat": "CycloneDX", "components": [{"name": "y"}]}).encode()
    digest = "sha256:" + hashlib.sha256(sbom).hexdigest()
    pred = {
        "run": {"id": "r"},
        "materials": [
            {"name": "sbom", "type": "SBOM_CYCLONEDX_JSON", "digest": {"sha256": digest[7:]}}
        ],
    }
    evidence = {digest: sbom, "sha256:" + hashlib.sha256(other).hexdigest(): other}
    rows = normalise(ctx(statement(RUN_PREDICATE_TYPE, pred), evidence=evidence)).by_table
    assert [(c["name"], c["carrier"], c["sbom_digest"]) for c in rows["sbom_components"]] == [
        ("x", "evidence", digest)
    ]


def test_helpers() -> None:
    assert ts("2023-06-23T15:00:43.70997067+02:00") == datetime(
        2023, 6, 23, 13, 0, 43, 709970, tzinfo=UTC
    )
    assert ts("yesterday") is None and ts(5) is None
    assert get({"workflow_run_id": "x"}, "workflowRunID") == "x"
    assert get({"policyEvaluations": 1}, "policyEvaluations") == 1
    assert (
        sbom_rows(ctx(statement("t", {})), b"not json", carrier="document", trusted=False).by_table
        == {}
    )
