"""``workflow_packages`` gives what its documentation says, over the rows that make it hard.

The definition numbers workflows and runs and reduces per version before it counts runs
(so that a million runs' count spills in little memory). This test computes the documented
meaning in plain Python over runs and SBOM components with the cases that numbering and
reducing could get wrong, and compares: at once and in parts.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from attestlake.lake.lake import Lake
from attestlake.lake.maintain import computed
from attestlake.lake.maintained_views import MAINTAINED_BY_NAME
from attestlake.lake.tables import BY_NAME
from attestlake.lake.write import create_tables

T0 = datetime(2026, 11, 1, tzinfo=UTC)
COLUMNS = (
    "project",
    "workflow",
    "package",
    "team",
    "component",
    "versions",
    "first_listed_at",
    "first_run_id",
    "runs",
)


def _append(lake: Path, name: str, rows: list[dict[str, Any]]) -> None:
    schema = BY_NAME[name].schema
    data = pa.Table.from_pylist(
        [{column: row.get(column) for column in schema.names} for row in rows], schema
    )
    write_deltalake(str(lake / name), data, mode="append")


def _package(component: dict[str, Any]) -> str | None:
    purl = component["purl"]
    if purl is None:
        return component["name"]
    for stop in "@?#":
        purl = purl.split(stop, 1)[0]
    return purl


def _expected(runs: list[dict[str, Any]], components: list[dict[str, Any]]) -> set[tuple]:
    """The documented meaning: per project, workflow and package, over the trusted components
    of successful runs (a run without a status counts as successful)."""
    by_manifest = defaultdict(list)
    for run in runs:
        if (run["status"] or "success") == "success":
            by_manifest[run["manifest_digest"]].append(run)
    groups: dict[tuple, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for component in components:
        if not component["trusted"]:
            continue
        for run in by_manifest[component["manifest_digest"]]:
            key = (run["project"], run["workflow"], _package(component))
            groups[key].append((run, component))
    rows = set()
    for (project, workflow, package), listed in groups.items():
        teams = [r["team"] for r, _ in listed if r["team"] is not None]
        names = [c["name"] for _, c in listed if c["name"] is not None]
        versions = sorted({c["version"] for _, c in listed if c["version"] is not None})
        started = [r["started_at"] for r, _ in listed if r["started_at"] is not None]
        firsts = sorted(
            (r["started_at"], r["run_id"])
            for r, _ in listed
            if r["started_at"] is not None and r["run_id"] is not None
        )
        run_ids = {r["run_id"] for r, _ in listed if r["run_id"] is not None}
        rows.add(
            (
                project,
                workflow,
                package,
                min(teams) if teams else None,
                min(names) if names else None,
                ", ".join(versions) if versions else None,
                min(started) if started else None,
                firsts[0][1] if firsts else None,
                len(run_ids),
            )
        )
    return rows


def _organisation(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs and components with the awkward cases: a run id shared by manifests of one
    workflow and by two workflows, a manifest with two runs, runs started at once, runs without a start, a run id or a
    project; failed runs and runs without a status; a package listed twice by one run, at two
    versions or at the same one; components without a purl, a version or a name; untrusted
    components; purls with qualifiers and subpaths."""
    rng = random.Random(seed)
    projects = ["shop", "bank", None]
    workflows = ["build", "release", None]
    runs: list[dict[str, Any]] = []
    for index in range(60):
        # some manifests hold two run statements: their components are listed by both
        manifest = index - 1 if index % 7 == 6 else index
        runs.append(
            {
                "manifest_digest": f"sha256:{manifest:064x}",
                "project": rng.choice(projects),
                "workflow": rng.choice(workflows),
                "team": rng.choice(["red", "blue", None]),
                "status": rng.choice(["success", "success", "failure", None]),
                # run ids repeat: several manifests of one run, and across workflows
                "run_id": rng.choice([f"run-{rng.randrange(25)}", None]),
                # starts repeat too: ties are broken by the lowest run id
                "started_at": rng.choice([T0 + timedelta(hours=rng.randrange(10)), None]),
            }
        )
    purls = [
        "pkg:npm/left-pad@1.{}.0",
        "pkg:pypi/requests@2.{}?extra=socks",
        "pkg:maven/org.acme/core@{}#sub/path",
        "pkg:golang/example.com/mod@v0.{}.1",
    ]
    components: list[dict[str, Any]] = []
    for run in runs:
        for _ in range(rng.randrange(6)):
            minor = rng.randrange(3)
            purl = rng.choice([*purls, None]) if rng.random() < 0.9 else None
            version = rng.choice([f"1.{minor}", None]) if purl is None else f"{minor}"
            component = {
                "manifest_digest": run["manifest_digest"],
                "purl": purl.format(minor) if purl else None,
                "name": rng.choice(["left-pad", "requests", "core", None]),
                "version": version,
                "trusted": rng.random() < 0.85,
            }
            components.append(component)
            if rng.random() < 0.2:  # listed twice by one run: same version or another
                components.append({**component, "version": rng.choice([version, "9.9"])})
    return runs, components


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_workflow_packages_is_its_documented_meaning(tmp_path: Path, seed: int) -> None:
    runs, components = _organisation(seed)
    lake = tmp_path / "lake"
    create_tables(lake)
    _append(lake, "runs", runs[: len(runs) // 2])  # two files each, as two crawls write them
    _append(lake, "runs", runs[len(runs) // 2 :])
    _append(lake, "sbom_components", components[: len(components) // 3])
    _append(lake, "sbom_components", components[len(components) // 3 :])
    expected = _expected(runs, components)
    assert len(expected) > 20  # the organisation exercises the definition
    assert any(row[-1] > 1 for row in expected) and any(row[-1] == 0 for row in expected)
    maintained = MAINTAINED_BY_NAME["workflow_packages"]
    with Lake.open(lake, derived=False) as session:
        for parts in (1, 3):
            rows = computed(session.con, maintained, parts)
            assert rows.column_names == list(COLUMNS)
            got = [tuple(row[c] for c in COLUMNS) for row in rows.to_pylist()]
            assert len(got) == len(set(got))
            assert set(got) == expected, f"in {parts} part(s)"
