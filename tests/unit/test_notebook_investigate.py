"""Investigations on the demo lake: digest → run, image → digests, package → who ships it."""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

import pytest

from attestlake.demo.demo import DemoResult
from attestlake.errors import InputError
from attestlake.notebook import lookups as lookups_module
from attestlake.notebook.components import EMPTY_TABLE, NO_TABLE
from attestlake.notebook.context import Context, open_context
from attestlake.notebook.display import Note
from attestlake.notebook.investigate import (
    DigestReport,
    find_component,
    find_digest,
    latest_artifact_digest,
    latest_image_repository,
    normalise_digest,
    resolve_image,
)
from attestlake.notebook.lookups import Lookups
from tests.demo_lake import LOG4J, sbom_component_rows


@pytest.fixture(scope="module")
def context(demo: DemoResult) -> Context:
    return open_context(demo.lake)


@pytest.fixture(scope="module")
def dropped_sbom_run(context: Context) -> dict[str, str]:
    """The last run of login-ui-build: it fell back to the contract revision without SBOM."""
    return context.lake.sql(
        "SELECT r.run_id, r.commit, r.manifest_digest, s.digest, m.value AS image FROM runs r "
        "JOIN subjects s USING (manifest_digest) JOIN materials m USING (manifest_digest) "
        "WHERE r.workflow = 'login-ui-build' AND m.type = 'CONTAINER_IMAGE' "
        "ORDER BY r.started_at DESC LIMIT 1"
    ).to_pylist()[0]


def test_a_digest_leads_to_the_run_that_built_it(context: Context, dropped_sbom_run) -> None:  # type: ignore[no-untyped-def]
    found = find_digest(context, dropped_sbom_run["digest"])
    assert found.run_ids == [dropped_sbom_run["run_id"]]
    run = found.runs.to_dicts()[0]
    assert run["commit"] == dropped_sbom_run["commit"] and run["signer"] == "keys/ci.pub"
    assert run["verification"] == "verified" and run["contract_revision"] == 1
    # The run statement and its SLSA provenance both name the image: it is listed once.
    named = context.lake.sql(
        "SELECT predicate_type FROM subjects WHERE digest = $d", {"d": dropped_sbom_run["digest"]}
    ).to_pylist()
    assert len(named) == 2
    assert found.matches["found_as"].to_list() == [
        "artifact (subject)",
        "material image (CONTAINER_IMAGE)",
    ]
    assert found.materials["name"].to_list() == ["image"]  # no SBOM: that was the problem
    assert found.components is not None and found.components.is_empty()
    html = found._repr_html_()
    for text in (run["run_id"], run["commit"], "miles.dyson@cyberdyne.example", "revision 1"):
        assert text in html


def test_a_digest_with_its_sbom_components(context: Context) -> None:
    digest = latest_artifact_digest(context)
    assert digest is not None
    found = find_digest(context, digest.removeprefix("sha256:").upper())  # bare and upper case
    assert found.digest == digest and len(found.run_ids) == 1
    assert found.components is not None and not found.components.is_empty()
    assert "SBOM components of these runs" in found._repr_html_()


def test_a_digest_that_failed_verification_is_reported_as_such(
    demo: DemoResult, context: Context
) -> None:
    failed = demo.report.results  # verification_failures rows carry the manifest digest
    bad = next(r for r in failed if r.query.name == "verification_failures").rows[0]
    found = find_digest(context, bad["manifest_digest"])
    assert found.runs.is_empty() and found.failed.height == 1
    html = found._repr_html_()
    assert "no verified run" in html and "FAILED verification" in html


def test_unknown_and_malformed_digests(context: Context) -> None:
    assert find_digest(context, "sha256:" + "0" * 64).runs.is_empty()
    with pytest.raises(InputError, match="not a sha256 digest"):
        normalise_digest("sha256:abc")
    assert normalise_digest("ghcr.io/a/b:1@sha256:" + "A" * 64) == "sha256:" + "a" * 64


def test_an_image_reference_resolves_to_its_digests(context: Context, dropped_sbom_run) -> None:  # type: ignore[no-untyped-def]
    image = dropped_sbom_run["image"]
    by_digest = resolve_image(context, image)
    assert by_digest.digests == [dropped_sbom_run["digest"]]
    repository = image.split("@", 1)[0]
    assert latest_image_repository(context) is not None
    by_name = resolve_image(context, repository)
    assert len(by_name.digests) == 14 and by_name.digests[0] == dropped_sbom_run["digest"]
    assert resolve_image(context, repository + "-other").images.is_empty()
    assert "No verified run" in resolve_image(context, "nothing/here")._repr_html_()
    with pytest.raises(InputError):
        resolve_image(context, " ")


def _log4j_workflows(demo: DemoResult, context: Context) -> set[str]:
    """Workflows whose verified runs' SBOM evidence lists log4j-core (read from the store)."""
    rows = sbom_component_rows(demo)
    manifests = {r["manifest_digest"] for r in rows if r["name"] == "log4j-core"}
    runs = context.lake.sql("SELECT manifest_digest, workflow FROM runs").to_pylist()
    return {r["workflow"] for r in runs if r["manifest_digest"] in manifests}


def test_who_ships_a_vulnerable_component(demo: DemoResult, context: Context) -> None:
    search = find_component(context, LOG4J, "<2.17.2")
    assert search.available
    assert set(search.workflows["workflow"]) == _log4j_workflows(demo, context)
    owners = dict(zip(search.workflows["team"], search.workflows["owner"], strict=True))
    assert owners["identity"] == "miles.dyson@cyberdyne.example"
    # ledger-release's first runs shipped log4j-core 2.14.1 (a sample plant), the rest 2.17.1.
    assert set(search.artifacts["version"]) == {"2.14.1", "2.17.1"}
    assert search.artifacts["artifact_digest"].str.starts_with("sha256:").all()
    # One row per run and artifact, though the run statement and its SLSA provenance both
    # name each artifact: as many rows as the store's SBOMs list log4j-core in runs' outputs.
    shipped = {r["manifest_digest"] for r in sbom_component_rows(demo) if r["name"] == "log4j-core"}
    outputs = context.lake.sql(
        "SELECT DISTINCT manifest_digest, digest FROM subjects "
        "WHERE predicate_type LIKE '%attestlake%'"
    ).to_pylist()
    expected = sum(o["manifest_digest"] in shipped for o in outputs)
    assert search.artifacts.height == expected > 0
    assert not search.artifacts.select("run_id", "artifact_digest").is_duplicated().any()
    html = search._repr_html_()
    # The sample stacks: log4j-core is in ledger-release (payments) and sso-build (identity).
    assert (
        "Workflows and the owners to contact" in html and "sarah.connor@cyberdyne.example" in html
    )


def test_component_search_by_name_version_and_purl_pin(context: Context) -> None:
    everyone = find_component(context, "LOG4J-core").workflows.height
    assert everyone == find_component(context, LOG4J + "@2.17.1?type=jar").workflows.height
    assert find_component(context, LOG4J, ">=2.0,<2.18").workflows.height == everyone
    assert find_component(context, LOG4J, ">=2.17.2").workflows.is_empty()
    assert find_component(context, LOG4J + "@2.17.0").workflows.is_empty()
    nothing = find_component(context, "log4j-core' OR 1=1 --")
    assert nothing.workflows.is_empty() and "No verified run" in nothing._repr_html_()
    with pytest.raises(InputError):
        find_component(context, "log4j-core", "=>2")


def test_the_latest_run_flag(context: Context) -> None:
    search = find_component(context, LOG4J)
    latest = {
        (r["project"], r["workflow"]): r["run_id"]
        for r in context.lake.sql(
            "SELECT project, workflow, arg_max(run_id, started_at) AS run_id FROM runs GROUP BY ALL"
        ).to_pylist()
    }
    shipped = set(search.artifacts["run_id"])
    for row in search.workflows.to_dicts():
        assert row["latest_run_ships_it"] == (latest[(row["project"], row["workflow"])] in shipped)


def test_a_lake_without_component_data_says_so(demo: DemoResult, tmp_path: Path) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(demo.lake, copy)
    shutil.rmtree(copy / "sbom_components")
    context = open_context(copy)
    # Without the directory the lake has no table, or (once the crawler declares the table)
    # an empty one: either way the reader is told, not shown an empty result.
    search = find_component(context, LOG4J, "<2.17.2")
    assert search.unavailable in (NO_TABLE, EMPTY_TABLE) and not search.available
    assert html.escape(search.unavailable) in search._repr_html_()
    digest = latest_artifact_digest(context)
    assert digest is not None
    found = find_digest(context, digest)
    assert found.components is None and html.escape(search.unavailable) in found._repr_html_()


# -- the input boxes ---------------------------------------------------------------------------
def test_the_boxes_start_from_the_parameters_and_answer_each_change(
    context: Context, dropped_sbom_run, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    shown: list[Any] = []
    monkeypatch.setattr(lookups_module, "show", shown.append)
    boxes = Lookups(context, digest=dropped_sbom_run["digest"], package=LOG4J)
    assert boxes.controls["digest"].value == dropped_sbom_run["digest"]
    assert boxes.controls["image"].value == "" and boxes.controls["version_range"].value == ""
    section = boxes.digest
    assert section.children[0] is boxes.controls["digest"]
    assert isinstance(shown[-1], DigestReport) and shown[-1].run_ids == [dropped_sbom_run["run_id"]]
    boxes.controls["digest"].value = "sha256:abc"  # what an investigator mistyped
    assert isinstance(shown[-1], Note) and "not a sha256 digest" in shown[-1].text
    _ = boxes.image
    assert isinstance(shown[-1], Note) and "Type an image reference" in shown[-1].text
    _ = boxes.package
    assert shown[-1].workflows.height == find_component(context, LOG4J).workflows.height
    boxes.controls["version_range"].value = "=>2"
    assert isinstance(shown[-1], Note) and shown[-1].kind == "problem"
    boxes.controls["version_range"].value = ">=2.17.2"
    assert shown[-1].workflows.is_empty()
