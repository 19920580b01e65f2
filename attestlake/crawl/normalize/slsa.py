"""SLSA provenance v0.2 and v1 into ``provenance`` (and its subjects into ``subjects``)."""

from __future__ import annotations

from typing import Any

from attestlake.crawl.normalize.common import (
    Context,
    Rows,
    as_list,
    as_object,
    day,
    s,
    subject_rows,
    to_json,
    ts,
)
from attestlake.intoto.claims import SLSA_TYPES

PREDICATE_TYPES = SLSA_TYPES
OWNS_SUBJECTS = False


def _git_source(uri: Any, digest: Any) -> tuple[str | None, str | None, str | None]:
    """(repository, ref, commit) from a ``git+https://host/repo@ref`` URI and its digest."""
    text = s(uri)
    if not text:
        return None, None, None
    text = text.removeprefix("git+")
    repo, _, ref = text.partition("@")
    d = as_object(digest)
    commit = s(d.get("gitCommit")) or s(d.get("sha1"))
    return repo or None, ref or None, commit


def _v1(pred: dict[str, Any]) -> dict[str, Any]:
    build = as_object(pred.get("buildDefinition"))
    details = as_object(pred.get("runDetails"))
    meta = as_object(details.get("metadata"))
    external = as_object(build.get("externalParameters"))
    workflow = as_object(external.get("workflow"))
    deps = as_list(build.get("resolvedDependencies"))
    repo = ref = commit = None
    for dep in map(as_object, deps):
        repo, ref, commit = _git_source(dep.get("uri"), dep.get("digest"))
        if repo:
            break
    source = as_object(external.get("source"))  # attestlake's own build type
    return {
        "slsa_version": "1",
        "builder_id": s(as_object(details.get("builder")).get("id")),
        "build_type": s(build.get("buildType")),
        "source_repo": s(workflow.get("repository")) or s(source.get("repository")) or repo,
        "source_ref": s(workflow.get("ref")) or s(source.get("ref")) or ref,
        "source_commit": s(source.get("commit")) or commit,
        "entry_point": s(workflow.get("path")),
        "invocation_id": s(meta.get("invocationId")) or s(meta.get("invocationID")),
        "started_at": ts(meta.get("startedOn")),
        "finished_at": ts(meta.get("finishedOn")),
        "external_parameters": to_json(build.get("externalParameters")),
        "internal_parameters": to_json(build.get("internalParameters")),
        "resolved_dependencies": to_json(build.get("resolvedDependencies")),
    }


def _v02(pred: dict[str, Any]) -> dict[str, Any]:
    invocation = as_object(pred.get("invocation"))
    config = as_object(invocation.get("configSource"))
    meta = as_object(pred.get("metadata"))
    repo, ref, commit = _git_source(config.get("uri"), config.get("digest"))
    if not repo:
        for material in map(as_object, as_list(pred.get("materials"))):
            repo, ref, commit = _git_source(material.get("uri"), material.get("digest"))
            if repo:
                break
    return {
        "slsa_version": "0.2",
        "builder_id": s(as_object(pred.get("builder")).get("id")),
        "build_type": s(pred.get("buildType")),
        "source_repo": repo,
        "source_ref": ref,
        "source_commit": commit,
        "entry_point": s(config.get("entryPoint")),
        "invocation_id": s(meta.get("buildInvocationId")) or s(meta.get("buildInvocationID")),
        "started_at": ts(meta.get("buildStartedOn")),
        "finished_at": ts(meta.get("buildFinishedOn")),
        "external_parameters": to_json(invocation.get("parameters")),
        "internal_parameters": to_json(invocation.get("environment")),
        "resolved_dependencies": to_json(pred.get("materials")),
    }


def normalise(ctx: Context) -> Rows:
    rows = Rows()
    pred = ctx.predicate
    fields = _v1(pred) if "buildDefinition" in pred or "runDetails" in pred else _v02(pred)
    build_date = day(fields["started_at"] or fields["finished_at"])
    rows.add(
        "provenance",
        {
            "manifest_digest": ctx.manifest_digest,
            "envelope_digest": ctx.envelope_digest,
            "statement_digest": ctx.statement_digest,
            "predicate_type": ctx.predicate_type,
            "run_id": ctx.outcome.statement_claims.run_id,
            **fields,
            "signer": ctx.outcome.signer,
            "issuer": ctx.outcome.issuer,
            "source": ctx.source,
            "build_date": build_date,
        },
    )
    for row in subject_rows(ctx, run_id=None, run_date=build_date):
        rows.add("subjects", row)
    return rows
