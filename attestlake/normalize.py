"""Normalisation: a verified statement becomes rows of the lake's trusted tables.

Only attestlake's own run predicate is exploded into runs, subjects, materials and contract
requirements here; any other verified predicate is recorded in ``verifications`` with its
predicate type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from attestlake.statements import RUN_PREDICATE_TYPE
from attestlake.verify import Outcome


@dataclass
class Rows:
    """Rows per table name, gathered for one batch."""

    by_table: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.by_table.setdefault(table, []).append(row)

    def extend(self, other: Rows) -> None:
        for table, rows in other.by_table.items():
            self.by_table.setdefault(table, []).extend(rows)

    def count(self, table: str) -> int:
        return len(self.by_table.get(table, []))


def _ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _s(value: Any) -> str | None:
    return str(value) if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _digest(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("sha256"), str):
        return "sha256:" + str(value["sha256"])
    return None


def run_rows(outcome: Outcome, *, manifest_digest: str, envelope_digest: str, source: str) -> Rows:
    """Rows for a verified run statement (empty for other predicate types)."""
    rows = Rows()
    stmt = outcome.statement or {}
    if not outcome.verified or stmt.get("predicateType") != RUN_PREDICATE_TYPE:
        return rows
    pred = as_object(stmt.get("predicate"))
    run = as_object(pred.get("run"))
    wf = as_object(pred.get("workflow"))
    contract = as_object(pred.get("contract"))
    runner = as_object(pred.get("runner"))
    started = _ts(run.get("startedAt"))
    finished = _ts(run.get("finishedAt"))
    run_id = _s(run.get("id"))
    when = started or finished
    day = when.date().isoformat() if when else "unknown"
    rows.add(
        "runs",
        {
            "run_id": run_id,
            "manifest_digest": manifest_digest,
            "envelope_digest": envelope_digest,
            "workflow": _s(wf.get("name")),
            "project": _s(wf.get("project")),
            "team": _s(wf.get("team")),
            "status": _s(run.get("status")),
            "contract_name": _s(contract.get("name")),
            "contract_revision": _int(contract.get("revision")),
            "contract_digest": _s(contract.get("digest")),
            "runner_type": _s(runner.get("type")),
            "runner_url": _s(runner.get("url")),
            "repository": _s(runner.get("repository")),
            "commit": _s(runner.get("commit")),
            "ref": _s(runner.get("ref")),
            "actor": _s(runner.get("actor")),
            "started_at": started,
            "finished_at": finished,
            "signer": outcome.signer,
            "key_id": outcome.key_id,
            "annotations": json.dumps(pred.get("annotations") or {}, sort_keys=True),
            "source": source,
            "run_date": day,
        },
    )
    for subject in stmt.get("subject") or []:
        if not isinstance(subject, dict):
            continue
        ann = as_object(subject.get("annotations"))
        rows.add(
            "subjects",
            {
                "run_id": run_id,
                "manifest_digest": manifest_digest,
                "name": _s(subject.get("name")),
                "digest": _digest(subject.get("digest")),
                "material_name": _s(ann.get("attestlake.material")),
                "material_type": _s(ann.get("attestlake.type")),
                "run_date": day,
            },
        )
    for m in pred.get("materials") or []:
        if not isinstance(m, dict):
            continue
        details = as_object(m.get("details"))
        main = as_object(details.get("mainComponent"))
        sha = _s(main.get("sha256"))
        rows.add(
            "materials",
            {
                "run_id": run_id,
                "manifest_digest": manifest_digest,
                "name": _s(m.get("name")),
                "type": _s(m.get("type")),
                "value": _s(m.get("value")),
                "filename": _s(m.get("filename")),
                "digest": _digest(m.get("digest")),
                "media_type": _s(m.get("mediaType")),
                "size": _int(m.get("size")),
                "output": bool(m.get("output")),
                "sbom_format": _s(details.get("format"))
                if str(m.get("type", "")).startswith("SBOM_")
                else None,
                "sbom_spec_version": _s(details.get("specVersion")),
                "sbom_components": _int(details.get("components")),
                "sbom_main_name": _s(main.get("name")),
                "sbom_main_digest": ("sha256:" + sha) if sha else None,
                "annotations": json.dumps(m.get("annotations") or {}, sort_keys=True),
                "run_date": day,
            },
        )
    for req in contract.get("materials") or []:
        if not isinstance(req, dict):
            continue
        rows.add(
            "contract_requirements",
            {
                "contract_name": _s(contract.get("name")),
                "contract_revision": _int(contract.get("revision")),
                "contract_digest": _s(contract.get("digest")),
                "material_name": _s(req.get("name")),
                "material_type": _s(req.get("type")),
                "optional": bool(req.get("optional")),
                "output": bool(req.get("output")),
                "manifest_digest": manifest_digest,
            },
        )
    return rows
