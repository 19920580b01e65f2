"""attestlake's own run predicate (``docs/predicate-run-v1.md``): run lifecycle records.

Every record of a run (``started``, ``success``, ``failed``, ``cancelled``) is a ``run_events``
row. A record that ends the run (:data:`ENDED`) is also its ``runs`` row. Subjects, materials
and the evidence files pushed beside the envelope (SBOMs, SARIF logs, JUnit reports, OpenVEX
documents: :mod:`attestlake.crawl.normalize.evidence`) come from the successful record only
(what a run shipped); contract requirements from whichever record names the contract first;
what the contract's policies said at push from the record that carries it
(:mod:`attestlake.crawl.normalize.policies`).
A statement without ``run.status`` is read as a finished run whose status is not known
(``status`` NULL), as Chainloop's are.
"""

from __future__ import annotations

import json
from typing import Any

from attestlake.crawl.normalize.common import (
    Context,
    Rows,
    as_list,
    as_object,
    day,
    integer,
    sha256_digest,
    string,
    subject_rows,
    ts,
)
from attestlake.crawl.normalize.evidence import EvidenceFile, evidence_rows
from attestlake.crawl.normalize.policies import policy_rows
from attestlake.intoto.claims import RUN_TYPES

PREDICATE_TYPES = RUN_TYPES
#: This family writes the subjects it means to (none for start and reset records).
OWNS_SUBJECTS = True
#: ``run.status`` values that end a run: such a record is the run's ``runs`` row.
ENDED = ("success", "failed", "cancelled")


def normalise(ctx: Context) -> Rows:
    rows = Rows()
    pred = ctx.predicate
    common = _record_columns(ctx)
    status, started, finished = common["status"], common["started_at"], common["finished_at"]
    event_at = started if status == "started" else finished or started
    rows.add("run_events", {**common, "event_at": event_at})
    if status in ENDED or status is None:  # no status: a finished run, as Chainloop's
        rows.add("runs", _run_row(ctx, common))
    if status in ("success", None):
        rows.extend(_shipped(ctx, pred, common["run_id"], common["run_date"]))
    rows.extend(_requirement_rows(ctx, as_object(pred.get("contract"))))
    rows.extend(policy_rows(ctx, pred, common))
    return rows


def _record_columns(ctx: Context) -> dict[str, Any]:
    """The columns a ``run_events`` row and a ``runs`` row share: the run, its workflow,
    contract, runner and times, and who signed the record."""
    pred = ctx.predicate
    run = as_object(pred.get("run"))
    wf = as_object(pred.get("workflow"))
    contract = as_object(pred.get("contract"))
    runner = as_object(pred.get("runner"))
    claims = ctx.outcome.statement_claims
    started, finished = ts(run.get("startedAt")), ts(run.get("finishedAt"))
    return {
        "run_id": claims.run_id,
        "status": string(run.get("status")),
        "reason": string(run.get("reason")),
        "workflow": claims.workflow,
        "project": claims.project,
        "team": string(wf.get("team")),
        "contract_name": string(contract.get("name")),
        "contract_revision": integer(contract.get("revision")),
        "contract_digest": string(contract.get("digest")),
        "runner_type": string(runner.get("type")),
        "runner_url": string(runner.get("url")),
        "started_at": started,
        "finished_at": finished,
        "signer": ctx.outcome.signer,
        "key_id": ctx.outcome.key_id,
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "source": ctx.source,
        "run_date": day(started or finished),
    }


def _run_row(ctx: Context, common: dict[str, Any]) -> dict[str, Any]:
    """The ``runs`` row of a record that ends the run: the shared columns, the run's source
    (repository, commit, ref, actor) and its annotations."""
    pred = ctx.predicate
    runner = as_object(pred.get("runner"))
    return {
        **common,
        "repository": string(runner.get("repository")),
        "commit": string(runner.get("commit")),
        "ref": string(runner.get("ref")),
        "actor": string(runner.get("actor")),
        "annotations": json.dumps(pred.get("annotations") or {}, sort_keys=True),
        "predicate_type": ctx.predicate_type,
    }


def _requirement_rows(ctx: Context, contract: dict[str, Any]) -> Rows:
    """A ``contract_requirements`` row for each material the recorded contract names."""
    rows = Rows()
    for req in as_list(contract.get("materials")):
        if not isinstance(req, dict):
            continue
        rows.add(
            "contract_requirements",
            {
                "contract_name": string(contract.get("name")),
                "contract_revision": integer(contract.get("revision")),
                "contract_digest": string(contract.get("digest")),
                "material_name": string(req.get("name")),
                "material_type": string(req.get("type")),
                "optional": bool(req.get("optional")),
                "output": bool(req.get("output")),
                "material_group": string(req.get("group")),
                "manifest_digest": ctx.manifest_digest,
                "source": ctx.source,
                "published_at": None,
            },
        )
    return rows


def _shipped(ctx: Context, pred: dict[str, Any], run_id: str | None, run_date: str) -> Rows:
    """Subjects, materials and evidence files (SBOM, SARIF, JUnit, OpenVEX) of a successful
    run."""
    rows = Rows()
    for row in subject_rows(ctx, run_id=run_id, run_date=run_date):
        rows.add("subjects", row)
    read: set[str] = set()  # a file two materials name is read once
    for m in as_list(pred.get("materials")):
        if not isinstance(m, dict):
            continue
        rows.add("materials", _material_row(ctx, m, run_id, run_date))
        digest = sha256_digest(m.get("digest"))
        data = ctx.evidence.get(digest) if digest and digest not in read else None
        if digest is not None and data is not None:
            read.add(digest)
            file = EvidenceFile(str(m.get("type", "")), string(m.get("name")), digest, data)
            rows.extend(evidence_rows(ctx, run_id, run_date, file))
    return rows


def _material_row(
    ctx: Context, m: dict[str, Any], run_id: str | None, run_date: str
) -> dict[str, Any]:
    details = as_object(m.get("details"))
    main = as_object(details.get("mainComponent"))
    sha = string(main.get("sha256"))
    is_sbom = str(m.get("type", "")).startswith("SBOM_")
    return {
        "run_id": run_id,
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "name": string(m.get("name")),
        "type": string(m.get("type")),
        "value": string(m.get("value")),
        "filename": string(m.get("filename")),
        "digest": sha256_digest(m.get("digest")),
        "media_type": string(m.get("mediaType")),
        "size": integer(m.get("size")) if not isinstance(m.get("size"), str) else None,
        "output": bool(m.get("output")),
        "sbom_format": string(details.get("format")) if is_sbom else None,
        "sbom_spec_version": string(details.get("specVersion")),
        "sbom_components": integer(details.get("components"))
        if not isinstance(details.get("components"), str)
        else None,
        "sbom_main_name": string(main.get("name")),
        "sbom_main_digest": ("sha256:" + sha) if sha else None,
        "annotations": json.dumps(m.get("annotations") or {}, sort_keys=True),
        "run_date": run_date,
    }
