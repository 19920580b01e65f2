"""The generator's later builds, made from the collector's first build of each shape, are the
builds the collector itself makes: the same statements byte for byte, the same evidence, the
same manifests. So the benchmarks measure what CI really pushes."""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from attestlake.demo.sample_organisation import Component, sbom_document
from attestlake.evidence.material_formats import cyclonedx
from attestlake.signing.keys import KeySigner
from attestlake.store.layout import REF_NAME
from benchmarks.organisation.bulk_store import BulkLayoutStore
from benchmarks.organisation.ci import WorkflowRuns
from benchmarks.organisation.declared import declare
from benchmarks.organisation.plan import PLANTS, PlannedWorkflow, make_plan
from benchmarks.organisation.sbom import SbomWriter
from benchmarks.organisation.template import canonical

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _workflows() -> list[PlannedWorkflow]:
    """Every plant, the three contracts, and a GitLab copy of a GitHub workflow (all signed
    with one key here: the statements do not depend on the signer)."""
    workflows = list(make_plan(150, days=20, seed=5).workflows)
    github = next(p for p in workflows if p.workflow.contract == "container-build")
    gitlab = replace(github.workflow, runner="GITLAB_PIPELINE", name=f"{github.name}-gitlab")
    return [*workflows, replace(github, workflow=gitlab, first_job=10_000)]


def _pushed(directory: Path, workflows: list[PlannedWorkflow], *, reuse: bool) -> dict[str, Any]:
    """What each tag holds: annotations but the signing key, statements, evidence digests."""
    directory.mkdir()
    declare(directory, make_plan(150, days=20, seed=5), NOW, b"{}")
    store = BulkLayoutStore(directory / "store")
    signer = KeySigner.from_file(directory / "keys" / "ci.key")
    work = directory / "work"
    work.mkdir()
    made = {"runs": 0, "collected": 0}
    for planned in workflows:
        runs = WorkflowRuns(planned, store, work, NOW, 20, lambda _name: signer, reuse=reuse)
        runs.all()
        made["runs"] += runs.tally.runs - runs.tally.failed
        made["collected"] += len(runs.templates)
    tags: dict[str, Any] = {}
    for entry in store.take_entries():
        manifest = json.loads(store.get_blob(entry["digest"]))
        annotations = dict(manifest["annotations"])
        annotations.pop("dev.attestlake.signer")
        layers = []
        for layer in manifest["layers"]:
            if layer["mediaType"].startswith("application/vnd.dsse"):
                envelope = json.loads(store.get_blob(layer["digest"]))
                layers.append((layer["annotations"], base64.b64decode(envelope["payload"])))
            else:
                layers.append((layer["annotations"], layer["digest"]))
        tags[entry["annotations"][REF_NAME]] = (annotations, layers)
    return {"tags": tags, **made}


def test_builds_made_from_a_template_are_those_the_collector_makes(tmp_path: Path) -> None:
    workflows = _workflows()
    assert {plant for p in workflows for plant in p.workflow.plants} == set(PLANTS)
    directory = tmp_path / "org"  # the same path both times: statements name the store
    collected = _pushed(directory, workflows, reuse=False)
    shutil.rmtree(directory)
    reused = _pushed(directory, workflows, reuse=True)
    assert reused["runs"] == collected["runs"] > 100
    # most builds were made from a template: the collector made one build per shape
    assert reused["collected"] < reused["runs"] / 5
    assert set(reused["tags"]) == set(collected["tags"])
    for tag, pushed in collected["tags"].items():
        assert reused["tags"][tag] == pushed, tag


def test_an_sbom_written_fast_is_the_demo_document_and_reads_as_the_collector_reads_it() -> None:
    components = (
        Component("left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"),
        Component("sloppy", "0.1", None, hashes=False),
        Component("névé", "2.0.0", 'pkg:pypi/n%C3%A9v%C3%A9@2.0.0?x="y"'),
    )
    writer = SbomWriter()
    for stack, describes in ((components, "sha256:" + "ab" * 32), (components, None), ((), None)):
        sbom = writer.write("project-0001", "1.4.0", stack, describes)
        document = sbom_document("project-0001", "1.4.0", stack, describes)
        assert sbom.data == json.dumps(document, separators=(",", ":")).encode()
        assert sbom.details == cyclonedx(sbom.data, "sbom.cdx.json")
        assert sbom.components == len(stack)


def test_canonical_json_is_rfc8785_for_statements_of_strings_and_integers() -> None:
    statement = {
        "z": [1, -2, 0, 2**52, True, False, None],
        "a\u00e9": {"\x00\x1f\x7f": 'q"uote\\back\b\f\n\r\t\u2028\ud7ff', "B": "€𝄞"},
        "": {},
        "A": [],
    }
    assert canonical(statement) == rfc8785.dumps(statement)


def test_a_template_that_no_longer_makes_the_collectors_statements_stops_the_generator(
    tmp_path: Path,
) -> None:
    workflows = _workflows()
    declare(tmp_path, make_plan(150, days=20, seed=5), NOW, b"{}")
    store = BulkLayoutStore(tmp_path / "store")
    signer = KeySigner.from_file(tmp_path / "keys" / "ci.key")
    runs = WorkflowRuns(workflows[0], store, tmp_path, NOW, 20, lambda _name: signer)
    runs.build(0)
    (template,) = runs.templates.values()
    started = template.made.started_at
    added = runs.materials(runs.contract(workflows[0].workflow.contract, 2), 0, started)
    env = dict(template.made.runner.environment)
    signed = [raw for _, raw in template.statements(template.made, NOW)]
    template.check(env, added, NOW, signed)  # its own build: the same bytes
    later = NOW + timedelta(seconds=1)  # as if the collector recorded another time
    with pytest.raises(RuntimeError, match="differ from the collector's at byte"):
        template.check(env, added, later, signed)
