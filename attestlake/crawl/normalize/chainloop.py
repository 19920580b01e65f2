"""Chainloop's ``chainloop.dev/attestation/v0.2`` predicate into runs, subjects and materials.

Chainloop's material types (CONTAINER_IMAGE, SBOM_CYCLONEDX_JSON, ARTIFACT, STRING, ...) are
the ones attestlake's contracts use, so its runs answer the same saved queries. Old
attestations spell some fields in snake_case (``predicate_type``, ``workflow_run_id``): both
spellings are read.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from attestlake.crawl.normalize.common import (
    Context,
    Rows,
    as_list,
    as_object,
    day,
    get,
    integer,
    s,
    sha256_digest,
    subject_rows,
    ts,
)
from attestlake.intoto.claims import CHAINLOOP_TYPES, Claims

PREDICATE_TYPES = CHAINLOOP_TYPES
OWNS_SUBJECTS = False

#: Environment variables a Chainloop attestation may carry that name the source of the run.
_REPO_VARS = ("GITHUB_REPOSITORY", "CI_PROJECT_URL", "BUILD_REPOSITORY_URI", "GIT_URL")
_COMMIT_VARS = ("GITHUB_SHA", "CI_COMMIT_SHA", "BUILD_SOURCEVERSION", "GIT_COMMIT")
_REF_VARS = ("GITHUB_REF", "CI_COMMIT_REF_NAME", "BUILD_SOURCEBRANCH", "GIT_BRANCH")


def _first(env: dict[str, Any], names: tuple[str, ...]) -> str | None:
    return next((v for n in names if (v := s(env.get(n)))), None)


def _content(value: Any) -> str | None:
    """A STRING material's inline value (base64 in the predicate)."""
    text = s(value)
    if text is None:
        return None
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return text


def normalise(ctx: Context) -> Rows:
    rows = Rows()
    pred = ctx.predicate
    meta = as_object(pred.get("metadata"))
    claims = ctx.outcome.statement_claims
    run_id = claims.run_id
    started, finished = ts(get(meta, "initializedAt")), ts(get(meta, "finishedAt"))
    run_date = day(started or finished)
    rows.add("runs", _run_row(ctx, claims, meta, started, finished, run_date))
    for row in subject_rows(ctx, run_id=run_id, run_date=run_date):
        rows.add("subjects", row)
    outputs = _output_digests(ctx)
    for m in map(as_object, as_list(pred.get("materials"))):
        rows.add("materials", _material_row(ctx, m, outputs, run_id, run_date))
    return rows


def _run_row(
    ctx: Context,
    claims: Claims,
    meta: dict[str, Any],
    started: datetime | None,
    finished: datetime | None,
    run_date: str,
) -> dict[str, Any]:
    """The ``runs`` row: the run's metadata, its runner, and its source from the environment."""
    pred = ctx.predicate
    env = as_object(pred.get("env"))
    annotations = {
        k: v for k, v in as_object(pred.get("annotations")).items() if isinstance(v, str)
    }
    return {
        "run_id": claims.run_id,
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "workflow": claims.workflow,
        "project": claims.project,
        "team": s(get(meta, "team")),
        "status": None,
        "reason": None,
        "contract_name": s(get(meta, "contractName")),
        "contract_revision": integer(get(meta, "contractVersion")),
        "contract_digest": None,
        "runner_type": s(get(pred, "runnerType")),
        "runner_url": s(pred.get("runnerURL")) or s(pred.get("runner_url")),
        "repository": _first(env, _REPO_VARS),
        "commit": _first(env, _COMMIT_VARS),
        "ref": _first(env, _REF_VARS),
        "actor": None,
        "started_at": started,
        "finished_at": finished,
        "signer": ctx.outcome.signer,
        "key_id": ctx.outcome.key_id,
        "annotations": json.dumps(annotations, sort_keys=True),
        "source": ctx.source,
        "run_date": run_date,
        "predicate_type": ctx.predicate_type,
    }


def _output_digests(ctx: Context) -> set[str | None]:
    """The digests of the subjects that are materials: the run's outputs."""
    return {
        sha256_digest(subject.get("digest"))
        for subject in map(as_object, as_list(ctx.statement.get("subject")))
        if as_object(subject.get("annotations")).get("chainloop.material.name")
    }


def _material_row(
    ctx: Context, m: dict[str, Any], outputs: set[str | None], run_id: str | None, run_date: str
) -> dict[str, Any]:
    """A ``materials`` row; an image's value is its pinned reference, a string's its text."""
    ann = as_object(m.get("annotations"))
    kind = s(ann.get("chainloop.material.type"))
    digest = sha256_digest(m.get("digest"))
    name = s(m.get("name"))
    if kind == "CONTAINER_IMAGE":
        value = f"{name}@{digest}" if name and digest else name
    elif kind == "STRING":
        value = _content(m.get("content")) or s(m.get("value"))
    else:
        value = None
    return {
        "run_id": run_id,
        "manifest_digest": ctx.manifest_digest,
        "envelope_digest": ctx.envelope_digest,
        "name": s(ann.get("chainloop.material.name")) or name,
        "type": kind,
        "value": value,
        "filename": name if kind not in ("CONTAINER_IMAGE", "STRING") else None,
        "digest": digest,
        "media_type": None,
        "size": None,
        "output": digest is not None and digest in outputs,
        "sbom_format": {"SBOM_CYCLONEDX_JSON": "CycloneDX", "SBOM_SPDX_JSON": "SPDX"}.get(
            kind or ""
        ),
        "sbom_spec_version": None,
        "sbom_components": None,
        "sbom_main_name": s(ann.get("component")),
        "sbom_main_digest": None,
        "annotations": json.dumps(
            {k: v for k, v in ann.items() if not k.startswith("chainloop.material.")},
            sort_keys=True,
            default=str,
        ),
        "run_date": run_date,
    }
