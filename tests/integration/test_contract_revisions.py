"""``contract_revisions``: each revision's required annotations and runner types come from the
trusted run statement with the lowest digest that states each, whatever copies, untrusted
statements or statements without them the lake also holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attestlake.lake.lake import Lake
from attestlake.lake.maintain import computed
from attestlake.lake.maintained_views import MAINTAINED_BY_NAME
from attestlake.lake.tables import BY_NAME
from attestlake.lake.write import Appender, create_tables

STARTED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _statement(annotations: list[str] | None, runners: list[str] | None) -> str:
    contract: dict[str, Any] = {"name": "build"}
    if annotations is not None:
        contract["annotations"] = annotations
    if runners is not None:
        contract["runnerTypes"] = runners
    return json.dumps({"predicate": {"contract": contract}})


def _lake(
    tmp_path: Path,
    documents: list[tuple[str, str, str, bool, str, int]],
    others: list[tuple[str, str, str, bool, str]] | None = None,
) -> Path:
    """A lake of runs, each with its statement: (manifest, envelope, statement digest,
    trusted, statement, revision); a manifest named ``orphan-*`` has a run and no statement.
    ``others``: statements that are no run's (manifest, envelope, digest, trusted, text)."""
    lake = tmp_path / "lake"
    create_tables(lake)
    runs, attestations = [], []
    statements = [d[:5] for d in documents] + (others or [])
    for manifest, envelope, *_, revision in documents:
        run: dict[str, Any] = dict.fromkeys(BY_NAME["runs"].schema.names)
        run.update(
            run_id=f"run-{manifest}",
            manifest_digest=manifest,
            envelope_digest=envelope,
            workflow="build",
            project="shop",
            contract_name="build",
            contract_revision=revision,
            started_at=STARTED,
        )
        runs.append(run)
    for manifest, envelope, digest, trusted, statement in statements:
        if manifest.startswith("orphan"):
            continue
        row: dict[str, Any] = dict.fromkeys(BY_NAME["attestations"].schema.names)
        row.update(
            manifest_digest=manifest,
            envelope_digest=envelope,
            statement_digest=digest,
            trusted=trusted,
            statement=statement,
        )
        attestations.append(row)
    appender = Appender(lake)
    appender.append(BY_NAME["runs"], runs)
    appender.append(BY_NAME["attestations"], attestations)
    return lake


def _revisions(lake: Path) -> dict[int, tuple[list[str] | None, list[str] | None]]:
    with Lake.open(lake, derived=False) as session:
        rows = computed(session.con, MAINTAINED_BY_NAME["contract_revisions"]).to_pylist()
    return {r["contract_revision"]: (r["annotations"], r["runner_types"]) for r in rows}


def test_rules_come_from_the_lowest_trusted_statement_that_states_each(tmp_path: Path) -> None:
    gold, none = _statement(["tier"], ["GITHUB_ACTION"]), _statement(None, ["GITLAB_PIPELINE"])
    forged = _statement(["forged"], ["GENERIC"])
    lake = _lake(
        tmp_path,
        [
            # revision 1: the lowest digest states no annotations (its runners count), an
            # untrusted statement lower still is not read, a run without a statement adds none
            ("m1", "e1", "sha256:b", True, none, 1),
            ("m2", "e2", "sha256:a", False, forged, 1),
            ("m3", "e3", "sha256:c", True, gold, 1),
            ("orphan-1", "e4", "", True, "", 1),
            # revision 2: one statement pushed in two manifests, and a later one
            ("m5", "e5", "sha256:d", True, gold, 2),
            ("m6", "e6", "sha256:d", True, gold, 2),
            ("m7", "e7", "sha256:e", True, _statement(["other"], []), 2),
            # revision 3: only an untrusted statement: no rules
            ("m8", "e8", "sha256:0", False, forged, 3),
            # revision 4: another document of the run's manifest is not its statement
            ("m9", "e9", "sha256:1", True, _statement(["nine"], ["NINE"]), 4),
        ],
        others=[("m9", "e10", "sha256:00", True, forged)],
    )
    revisions = _revisions(lake)

    assert revisions[1] == (["tier"], ["GITLAB_PIPELINE"])
    assert revisions[2] == (["tier"], ["GITHUB_ACTION"])
    assert revisions[3] == (None, None)
    assert revisions[4] == (["nine"], ["NINE"])
