"""More forged or duplicated trusted rows: a signer of another project naming an existing run
id beside a copy of that run's envelope; a copy of a run beside a new record of the same run.

Every case is a real crawl into a real Delta lake (an OCI layout directory), asserted on the
lake's exact row counts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from attestlake import open_lake
from attestlake.crawl.crawl import crawl
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests.integration.test_crawl_store import (
    NOW,
    Signer,
    assert_no_duplicate_keys,
    make_signer,
    push,
    run_statement,
    sbom,
)
from tests.security.test_forgery import ONE_RUN, counts, run_record


def two_teams(directory: Path) -> tuple[Signer, Signer, Path]:
    """Team a's key (project p1, the project of run ``run-1``) and team b's key (project b),
    and a policy trusting each for its own project only."""
    a, b = make_signer(directory / "a"), make_signer(directory / "b")
    policy = directory / "trust.yaml"
    for name, signer in (("a", a), ("b", b)):
        pem = signer.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (directory / f"{name}.pub").write_bytes(pem)
    policy.write_text(
        "keys:\n  - {path: a.pub, projects: [p1]}\n  - {path: b.pub, projects: [b]}\n"
    )
    return a, b, policy


def claim_run(run_id: str, project: str, image: int = 0xBAD) -> dict[str, Any]:
    """A successful run record of ``project`` that names run ``run_id`` and ships ``image``."""
    stmt = copy.deepcopy(run_statement(1))
    stmt["predicate"]["run"]["id"] = run_id
    stmt["predicate"]["workflow"] = {"name": "build", "project": project, "team": "b"}
    stmt["predicate"]["materials"][0]["value"] = f"ghcr.io/b/evil@sha256:{image:064x}"
    stmt["predicate"]["materials"][0]["digest"] = {"sha256": f"{image:064x}"}
    stmt["subject"] = [{"name": "ghcr.io/b/evil", "digest": {"sha256": f"{image:064x}"}}]
    return stmt


def materials_of(lake: Path, manifest: str) -> list[dict[str, Any]]:
    with open_lake(lake) as opened:
        return opened.sql(
            "SELECT run_id, name, value FROM materials WHERE manifest_digest = $m ORDER BY ALL",
            {"m": manifest},
        ).to_pylist()


@pytest.mark.attack("forgery")
@pytest.mark.parametrize("order", ["copy-first", "claim-first"])
@pytest.mark.parametrize("across_crawls", [False, True], ids=["one-crawl", "two-crawls"])
def test_another_projects_signer_naming_a_run_id_beside_a_copy_of_that_run_mixes_nothing(
    tmp_path: Path, order: str, across_crawls: bool
) -> None:
    """Team b copies run-1's envelope (team a's) into its own manifest, beside a statement
    signed with b's key that names run id run-1 in project b: no material of b's reaches a's
    run (materials name a run by manifest and run id), and a's run is not duplicated."""
    a, b, trust = two_teams(tmp_path / "keys")
    store, lake, policy = LayoutStore(tmp_path / "store"), tmp_path / "lake", load_policy(trust)
    documents, evidence = run_record(a)
    push(store, documents, tag="run-run-1", evidence=evidence)
    if across_crawls:
        crawl(store, lake, policy, now=NOW)
        assert counts(lake) == ONE_RUN
    claim = (ENVELOPE_MEDIA_TYPE, b.envelope(claim_run("run-1", "b")))
    layers = [documents[0], claim] if order == "copy-first" else [claim, documents[0]]
    copy_manifest = push(store, layers, tag="aaa-b")

    crawl(store, lake, policy, now=NOW)

    assert_no_duplicate_keys(lake)
    with open_lake(lake) as opened:
        verdicts = opened.sql(
            "SELECT status, reason, detail, project FROM verifications "
            "WHERE manifest_digest = $m ORDER BY status, project",
            {"m": copy_manifest.digest},
        ).to_pylist()
        runs = opened.sql(
            "SELECT project, manifest_digest FROM runs WHERE run_id = 'run-1' ORDER BY ALL"
        ).to_pylist()
    (refused,) = [v for v in verdicts if v["status"] == "not_verified"]
    assert refused["reason"] == "untrusted_signer"
    assert "one manifest holds one run per run id" in refused["detail"]
    assert "'p1'" in refused["detail"] and "'b'" in refused["detail"]
    in_copy = [r["project"] for r in runs if r["manifest_digest"] == copy_manifest.digest]
    assert len(in_copy) <= 1  # one manifest, one run per run id
    assert [r["project"] for r in runs].count("p1") == 1
    copy_materials = materials_of(lake, copy_manifest.digest)
    if in_copy == ["b"]:  # b's claim came first: b's run, b's material only
        assert [m["value"] for m in copy_materials] == [f"ghcr.io/b/evil@sha256:{0xBAD:064x}"]
    else:  # a's copy came first: no material of b's anywhere
        assert not any("evil" in (m["value"] or "") for m in copy_materials)
    (a_run,) = [r for r in runs if r["project"] == "p1"]
    assert len(materials_of(lake, a_run["manifest_digest"])) == 2
    assert counts(lake)["materials"] == 2 + (1 if in_copy == ["b"] else 0)


@pytest.mark.attack("forgery")
def test_a_copy_of_a_known_run_beside_a_new_record_of_that_run_adds_no_materials(
    tmp_path: Path,
) -> None:
    """The lake holds run-1 (its success record); a manifest found later carries a copy of
    that record beside the run's start record, new to the lake: the copy's materials are
    not written again under the copy's manifest."""
    signer = make_signer(tmp_path / "keys")
    store, lake, policy = (
        LayoutStore(tmp_path / "store"),
        tmp_path / "lake",
        load_policy(signer.trust),
    )
    documents, evidence = run_record(signer)
    push(store, documents, tag="run-run-1", evidence=evidence)
    crawl(store, lake, policy, now=NOW)
    assert counts(lake) == ONE_RUN

    started = copy.deepcopy(run_statement(1, sbom(1)))
    started["predicate"]["run"]["status"] = "started"
    del started["predicate"]["run"]["finishedAt"]
    start = (ENVELOPE_MEDIA_TYPE, signer.envelope(started))
    push(store, [documents[0], start], tag="aaa-copy", evidence=evidence)
    crawl(store, lake, policy, now=NOW)

    assert counts(lake) == {**ONE_RUN, "run_events": 2, "attestations": 3}
    assert_no_duplicate_keys(lake)


@pytest.mark.attack("crash")
@pytest.mark.parametrize("across_crawls", [False, True], ids=["one-crawl", "two-crawls"])
def test_a_copy_of_a_runs_envelope_alone_under_an_earlier_tag_does_not_stop_the_crawl(
    tmp_path: Path, across_crawls: bool
) -> None:
    """Anyone who can push copies the run's envelope (not its provenance) under a tag found
    first: the run's own manifest then holds a replay beside a new statement of the same run."""
    signer = make_signer(tmp_path / "keys")
    store, lake, policy = (
        LayoutStore(tmp_path / "store"),
        tmp_path / "lake",
        load_policy(signer.trust),
    )
    documents, evidence = run_record(signer)
    push(store, [documents[0]], tag="aaa-copy")
    if across_crawls:
        crawl(store, lake, policy, now=NOW)
    push(store, documents, tag="run-run-1", evidence=evidence)

    crawl(store, lake, policy, now=NOW)

    assert counts(lake) == ONE_RUN
    assert_no_duplicate_keys(lake)
    with open_lake(lake) as opened:
        (row,) = opened.sql("SELECT source FROM runs").to_pylist()
    assert row["source"].endswith(":run-run-1")


@pytest.mark.attack("forgery")
def test_two_runs_copied_into_one_manifest_do_not_lend_each_other_materials(
    tmp_path: Path,
) -> None:
    """Anyone who can push copies a run that shipped an SBOM and a run that did not into one
    manifest found first (the anchor of both): the second run's missing SBOM is still found."""
    signer = make_signer(tmp_path / "keys")
    store, lake, policy = (
        LayoutStore(tmp_path / "store"),
        tmp_path / "lake",
        load_policy(signer.trust),
    )
    with_sbom = signer.envelope(run_statement(3, sbom(3)))
    without = signer.envelope(run_statement(6))  # same project p0, no SBOM
    push(
        store,
        [(ENVELOPE_MEDIA_TYPE, with_sbom), (ENVELOPE_MEDIA_TYPE, without)],
        tag="aaa-copy",
        evidence=[("application/vnd.cyclonedx+json", sbom(3))],
    )
    push(store, [(ENVELOPE_MEDIA_TYPE, with_sbom)], tag="run-run-3")
    push(store, [(ENVELOPE_MEDIA_TYPE, without)], tag="run-run-6")
    crawl(store, lake, policy, now=NOW)

    with open_lake(lake) as opened:
        found = opened.query("missing_sbom_digests").rows
        materials = opened.sql(
            "SELECT run_id, count(*) AS n FROM materials GROUP BY ALL ORDER BY ALL"
        ).to_pylist()
    assert [(r["run_id"], r["problem"]) for r in found] == [("run-6", "no SBOM in run")]
    assert materials == [{"run_id": "run-3", "n": 2}, {"run_id": "run-6", "n": 1}]
    assert_no_duplicate_keys(lake)
