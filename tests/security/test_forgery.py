"""Forged or duplicated trusted rows: a scoped signer naming another project in a second place,
a replayed envelope, a copy of a run's envelopes found before the run itself.

Every case is a real crawl into a real Delta lake (an OCI layout directory, or the real
docker-registry of the ``registry`` fixture), asserted on the lake's exact row counts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.crawl.crawl import crawl
from attestlake.intoto.claims import statement_claims
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store import Store
from attestlake.store.layout import LayoutStore
from attestlake.store.registry import RegistryStore
from attestlake.verify.verify import load_policy
from tests.integration.registry_server import RegistryServer
from tests.integration.test_crawl_store import (
    CDX,
    NOW,
    STATEMENT_V1,
    Signer,
    assert_no_duplicate_keys,
    make_signer,
    push,
    run_statement,
    sbom,
)

TRUSTED = {
    "runs": "SELECT count(*) FROM runs",
    "run_events": "SELECT count(*) FROM run_events",
    "subjects": "SELECT count(*) FROM subjects",
    "materials": "SELECT count(*) FROM materials",
    "provenance": "SELECT count(*) FROM provenance",
    "witness_attestations": "SELECT count(*) FROM witness_attestations",
    "verification_summaries": "SELECT count(*) FROM verification_summaries",
    "sbom_components": "SELECT count(*) FROM sbom_components WHERE trusted",
    "attestations": "SELECT count(*) FROM attestations WHERE trusted",
}


def counts(lake: Path) -> dict[str, int]:
    with open_lake(lake) as opened:
        return {name: opened.sql(q).to_pylist()[0]["count_star()"] for name, q in TRUSTED.items()}


def scoped_signer(directory: Path) -> Signer:
    signer = make_signer(directory)
    signer.trust.write_text("keys:\n  - path: ci.pub\n    projects: [a]\n")
    return signer


def _statement(ptype: str, predicate: dict[str, Any], subject: str = "img") -> dict[str, Any]:
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": subject, "digest": {"sha256": "ab" * 32}}],
        "predicateType": ptype,
        "predicate": predicate,
    }


def _slsa_v1(project: str, workflow: dict[str, str] | None) -> dict[str, Any]:
    pred: dict[str, Any] = {
        "buildDefinition": {
            "buildType": "https://attestlake.dev/buildtypes/ci-run/v1",
            "externalParameters": {"workflow": {"name": "build", "project": project}},
        },
        "runDetails": {"byproducts": [{"uri": "attestlake:run/r-1"}]},
    }
    if workflow is not None:
        pred["workflow"] = workflow
    return _statement("https://slsa.dev/provenance/v1", pred, "ghcr.io/team-b/app")


def _slsa_v02(project: str, workflow: dict[str, str] | None) -> dict[str, Any]:
    pred: dict[str, Any] = {
        "builder": {"id": "https://ci"},
        "invocation": {"parameters": {"workflow": {"name": "build", "project": project}}},
    }
    if workflow is not None:
        pred["workflow"] = workflow
    return _statement("https://slsa.dev/provenance/v0.2", pred, "ghcr.io/team-b/app")


def _chainloop(project: str, workflow: dict[str, str] | None) -> dict[str, Any]:
    pred: dict[str, Any] = {
        "metadata": {"workflowRunID": "r-1", "workflowName": "build", "project": project},
        "materials": [],
    }
    if workflow is not None:
        pred["workflow"] = workflow
    return _statement("chainloop.dev/attestation/v0.2", pred)


def _generic(ptype: str, body: dict[str, Any]) -> Any:
    def make(project: str, workflow: dict[str, str] | None) -> dict[str, Any]:
        # These predicates name a project only in the generic place; a run subject of
        # project ``project`` beside it is their second place.
        pred = {**body, "workflow": workflow or {"name": "build", "project": project}}
        return _statement(ptype, pred, f"attestlake.run/{project}/build")

    return make


def _run(project: str, workflow: dict[str, str] | None) -> dict[str, Any]:
    stmt = run_statement(1)
    stmt["predicate"]["workflow"] = workflow or {"name": "build", "project": project}
    stmt["subject"] = [{"name": f"attestlake.run/{project}/build", "digest": {"sha256": "0" * 64}}]
    return stmt


WITNESS = {
    "name": "build",
    "attestations": [
        {
            "type": "https://witness.dev/attestations/product/v0.1",
            "attestation": {"bomFormat": "CycloneDX", "components": [{"name": "x"}]},
        }
    ],
}
VSA = {"verifier": {"id": "https://v"}, "verificationResult": "PASSED"}
SBOM = {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "x"}]}
FAMILIES = {
    "run": _run,
    "slsa-v1": _slsa_v1,
    "slsa-v0.2": _slsa_v02,
    "chainloop": _chainloop,
    "witness": _generic("https://witness.dev/attestation-collection/v0.1", WITNESS),
    "vsa": _generic("https://slsa.dev/verification_summary/v1", VSA),
    "sbom": _generic("https://cyclonedx.org/bom", SBOM),
}


def _crawl_one(tmp_path: Path, stmt: dict[str, Any]) -> tuple[dict[str, int], dict[str, Any]]:
    signer = scoped_signer(tmp_path / "keys")
    store = LayoutStore(tmp_path / "store")
    push(store, [(ENVELOPE_MEDIA_TYPE, signer.envelope(stmt))], tag="x")
    crawl(store, tmp_path / "lake", load_policy(signer.trust), now=NOW)
    with open_lake(tmp_path / "lake") as lake:
        (row,) = lake.sql(
            "SELECT status, reason, detail, project, workflow FROM verifications"
        ).to_pylist()
    return counts(tmp_path / "lake"), row


@pytest.mark.attack("forgery")
@pytest.mark.parametrize("family", FAMILIES)
def test_scoped_key_naming_another_project_in_a_second_place_is_untrusted(
    tmp_path: Path, family: str
) -> None:
    """Project a's key signs a statement whose generic predicate.workflow names project a
    while the family's own place (or a run subject) names project b."""
    stmt = FAMILIES[family]("b", {"name": "build", "project": "a"})
    assert statement_claims(stmt).conflict is not None

    rows, verification = _crawl_one(tmp_path, stmt)

    assert (verification["status"], verification["reason"]) == ("not_verified", "untrusted_signer")
    assert "'a" in verification["detail"] and "'b" in verification["detail"]  # both claims
    assert rows == dict.fromkeys(TRUSTED, 0)


@pytest.mark.attack("forgery")
@pytest.mark.parametrize("family", FAMILIES)
def test_scoped_key_verifies_a_statement_of_its_project_and_the_lake_names_that_project(
    tmp_path: Path, family: str
) -> None:
    """The scope check and the verifications row read the same claims: project a, trusted."""
    rows, verification = _crawl_one(tmp_path, FAMILIES[family]("a", None))

    assert verification["status"] == "verified", verification["detail"]
    assert (verification["project"], verification["workflow"]) == ("a", "build")
    assert rows["attestations"] == 1


@pytest.mark.attack("forgery")
@pytest.mark.parametrize("family", FAMILIES)
def test_scoped_key_signing_another_project_everywhere_is_untrusted(
    tmp_path: Path, family: str
) -> None:
    rows, verification = _crawl_one(tmp_path, FAMILIES[family]("b", None))

    assert (verification["status"], verification["reason"]) == ("not_verified", "untrusted_signer")
    assert rows == dict.fromkeys(TRUSTED, 0)


# --- replays and front-running ---------------------------------------------------------------

#: What one run with its SBOM evidence and its provenance gives, whatever the copies.
ONE_RUN = {
    "runs": 1,
    "run_events": 1,
    "subjects": 2,  # the run statement's and the provenance's
    "materials": 2,
    "provenance": 1,
    "witness_attestations": 0,
    "verification_summaries": 0,
    "sbom_components": 3,
    "attestations": 2,
}


def provenance(n: int) -> dict[str, Any]:
    return _statement(
        "https://slsa.dev/provenance/v1",
        {
            "buildDefinition": {
                "buildType": "https://attestlake.dev/buildtypes/ci-run/v1",
                "externalParameters": {
                    "workflow": {"name": "build", "project": f"p{n % 3}"},
                },
            },
            "runDetails": {"byproducts": [{"uri": f"attestlake:run/run-{n}"}]},
        },
        "ghcr.io/acme/app",
    )


def run_record(
    signer: Signer, n: int = 1
) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """The documents (run envelope, provenance envelope) and evidence of run ``run-<n>``."""
    evidence = sbom(n)
    documents = [
        (ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(n, evidence))),
        (ENVELOPE_MEDIA_TYPE, signer.envelope(provenance(n))),
    ]
    return documents, [(CDX, evidence)]


def _run_sources(lake: Path) -> list[str]:
    with open_lake(lake) as opened:
        return [r["source"] for r in opened.sql("SELECT source FROM runs").to_pylist()]


def _stores(kind: str, tmp_path: Path, registry: RegistryServer | None) -> tuple[Store, Store]:
    """Two repositories of one kind: layout directories, or registry repositories."""
    if kind == "layout":
        return LayoutStore(tmp_path / "store"), LayoutStore(tmp_path / "store")
    assert registry is not None
    suffix = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:8]
    repo = f"r{suffix}/attestations"
    return RegistryStore(registry.url, repo), RegistryStore(registry.url, repo)


@pytest.fixture(params=["layout", "registry"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Store, Signer]:
    registry = request.getfixturevalue("registry") if request.param == "registry" else None
    store, _ = _stores(request.param, tmp_path, registry)
    return store, make_signer(tmp_path / "keys")


@pytest.mark.attack("forgery")
def test_a_replayed_envelope_beside_a_junk_layer_adds_no_run(
    tmp_path: Path, stores: tuple[Store, Signer]
) -> None:
    store, signer = stores
    documents, evidence = run_record(signer)
    push(store, documents, tag="run-run-1", evidence=evidence)
    lake, policy = tmp_path / "lake", load_policy(signer.trust)
    crawl(store, lake, policy, now=NOW)
    assert counts(lake) == ONE_RUN

    junk = (ENVELOPE_MEDIA_TYPE, b'{"payloadType": "junk"}')
    push(store, [documents[0], junk], tag="replay-1")  # a later crawl
    push(store, [junk, *documents], tag="replay-2", evidence=evidence)
    crawl(store, lake, policy, now=NOW)

    assert counts(lake) == ONE_RUN
    assert [s.rsplit(":", 1)[1] for s in _run_sources(lake)] == ["run-run-1"]
    assert_no_duplicate_keys(lake)


@pytest.mark.attack("forgery")
def test_replays_in_the_same_batch_add_no_run(tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys")
    store = LayoutStore(tmp_path / "store")
    documents, evidence = run_record(signer)
    junk = (ENVELOPE_MEDIA_TYPE, b"\x00junk")
    push(store, documents, tag="run-run-1", evidence=evidence)
    push(store, [documents[1], documents[0], junk], tag="run-run-1-copy", evidence=evidence)
    push(store, [documents[0], (ENVELOPE_MEDIA_TYPE, documents[0][1] + b" ")], tag="spaced")

    result = crawl(store, tmp_path / "lake", load_policy(signer.trust), now=NOW)

    assert result.ingested == 3
    assert counts(tmp_path / "lake") == ONE_RUN
    assert_no_duplicate_keys(tmp_path / "lake")


@pytest.mark.attack("loss")
@pytest.mark.parametrize("across_crawls", [False, True], ids=["one-crawl", "two-crawls"])
def test_a_copy_under_an_earlier_tag_loses_no_evidence_and_not_the_source(
    tmp_path: Path, stores: tuple[Store, Signer], across_crawls: bool
) -> None:
    """A copy of the run's envelopes without its SBOM, under a tag found first."""
    store, signer = stores
    documents, evidence = run_record(signer)
    lake, policy = tmp_path / "lake", load_policy(signer.trust)
    push(store, documents, tag="aaa-copy")
    if across_crawls:
        crawl(store, lake, policy, now=NOW)
        assert counts(lake) == {**ONE_RUN, "sbom_components": 0}
    push(store, documents, tag="run-run-1", evidence=evidence)
    crawl(store, lake, policy, now=NOW)

    assert counts(lake) == ONE_RUN
    assert [s.rsplit(":", 1)[1] for s in _run_sources(lake)] == ["run-run-1"]
    assert_no_duplicate_keys(lake)
    again = crawl(store, lake, policy, now=NOW)
    assert again.ingested == 0 and counts(lake) == ONE_RUN


@pytest.mark.attack("loss")
@pytest.mark.registry
def test_a_copy_in_a_repository_that_sorts_first_loses_no_evidence(
    tmp_path: Path, registry: RegistryServer
) -> None:
    """A whole-registry crawl: the copy (a referrer-like manifest in an image repository whose
    name sorts before the attestations repository) is found before the run."""
    signer = make_signer(tmp_path / "keys")
    documents, evidence = run_record(signer)
    prefix = "front" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:8]
    copy = push(RegistryStore(registry.url, f"{prefix}/aaa-app"), documents, tag="aaa")
    real = push(
        RegistryStore(registry.url, f"{prefix}/attestations"),
        documents,
        tag="run-run-1",
        evidence=evidence,
    )
    from attestlake.crawl.sources import open_source

    source = open_source(f"{registry.host}/{prefix}/*")
    try:
        result = crawl(source, tmp_path / "lake", load_policy(signer.trust), now=NOW)
    finally:
        source.close()

    assert result.verified == 2
    assert counts(tmp_path / "lake") == ONE_RUN
    home = f"{registry.host}/{prefix}/attestations:run-run-1"
    assert [s.split("://")[-1] for s in _run_sources(tmp_path / "lake")] == [home]
    with open_lake(tmp_path / "lake") as lake:
        sources = lake.sql("SELECT DISTINCT source FROM sbom_components").to_pylist()
        (anchor,) = lake.sql("SELECT manifest_digest FROM runs").to_pylist()
    assert [r["source"].split("://")[-1] for r in sources] == [home]
    assert anchor["manifest_digest"] in (real.digest, copy.digest)
    assert_no_duplicate_keys(tmp_path / "lake")
