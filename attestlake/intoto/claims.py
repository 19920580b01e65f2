"""What a statement says about itself: the run id, workflow and project it names.

One reader per predicate type (:func:`reader_for`) lists every place a statement of that type
can name them; :func:`statement_claims` reads those places. The trust check (a scoped signer
verifies only statements naming its projects and workflows, :mod:`attestlake.verify.verify`) and the
normalisers (``runs``, ``provenance``, ``verifications`` rows) both use it, so a statement
cannot pass the scope check as one project and land in the lake as another.

The places, by predicate type (every type may also carry the generic ``predicate.workflow``
``name``/``project`` of attestlake's run predicate, and a subject named
``attestlake.run/<project>/<workflow>``, attestlake's subject for a run without outputs):

- attestlake's run predicate: ``run.id``, ``workflow.name``, ``workflow.project``;
- SLSA provenance (v0.1, v0.2, v1): ``buildDefinition.externalParameters.workflow`` (v1) and
  ``invocation.parameters.workflow`` (v0.x) ``name``/``project``; the run id from an
  ``attestlake:run/<id>`` byproduct URI or invocation id;
- Chainloop: ``metadata.workflowRunID``, ``metadata.workflowName`` and ``metadata.name``,
  ``metadata.project`` (each also in its old snake_case spelling);
- witness collections, SLSA VSAs, SBOM predicates: the generic places only.

Every place that names a claim must name the same value (absent, empty or non-string values
name nothing); otherwise the claims *conflict* and the statement is never verified. Any
other predicate type names nothing, so it is out of every scoped signer's scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from attestlake.intoto.predicates import RUN_PREDICATE_TYPE

RUN_TYPES = (RUN_PREDICATE_TYPE,)
SLSA_TYPES = (
    "https://slsa.dev/provenance/v0.2",
    "https://slsa.dev/provenance/v1",
    "https://slsa.dev/provenance/v0.1",
    "https://slsa.dev/provenance/v1.0",
)
CHAINLOOP_TYPES = ("chainloop.dev/attestation/v0.2",)
WITNESS_TYPES = (
    "https://witness.testifysec.com/attestation-collection/v0.1",
    "https://witness.dev/attestation-collection/v0.1",
)
VSA_TYPES = (
    "https://slsa.dev/verification_summary/v1",
    "https://slsa.dev/verification_summary/v0.2",
    "https://slsa.dev/verification_summary/v0.1",
)
#: Predicate type prefixes of SBOM predicates (CycloneDX and SPDX, any version).
SBOM_TYPE_PREFIXES = ("https://cyclonedx.org/bom", "https://spdx.dev/Document")
#: The URI scheme attestlake's provenance uses to name the run it belongs to.
RUN_URI = "attestlake:run/"
#: The subject name attestlake gives a run without outputs: ``attestlake.run/<project>/<wf>``.
RUN_SUBJECT = "attestlake.run/"

FIELDS = ("run_id", "workflow", "project")
#: One place a statement names a claim: (claim field, where, the value found or None).
Place = tuple[str, str, Any]
Reader = Callable[[dict[str, Any]], Iterator[Place]]


@dataclass(frozen=True)
class Claims:
    """The run id, workflow and project a statement names (None: it names none)."""

    run_id: str | None = None
    workflow: str | None = None
    project: str | None = None
    #: Set when two places of the statement name different values: which, and what each says.
    conflict: str | None = None


def _at(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _generic(pred: dict[str, Any]) -> Iterator[Place]:
    yield "workflow", "predicate.workflow.name", _at(pred, "workflow", "name")
    yield "project", "predicate.workflow.project", _at(pred, "workflow", "project")


def _run(pred: dict[str, Any]) -> Iterator[Place]:
    yield "run_id", "predicate.run.id", _at(pred, "run", "id")
    yield from _generic(pred)


def _run_uri(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(RUN_URI):
        return value.removeprefix(RUN_URI)
    return None


def _slsa(pred: dict[str, Any]) -> Iterator[Place]:
    for where, path in (
        ("externalParameters.workflow", ("buildDefinition", "externalParameters", "workflow")),
        ("invocation.parameters.workflow", ("invocation", "parameters", "workflow")),
    ):
        yield "workflow", f"predicate.{where}.name", _at(pred, *path, "name")
        yield "project", f"predicate.{where}.project", _at(pred, *path, "project")
    byproducts = _at(pred, "runDetails", "byproducts")
    for i, item in enumerate(byproducts if isinstance(byproducts, list) else []):
        yield "run_id", f"predicate.runDetails.byproducts[{i}].uri", _run_uri(_at(item, "uri"))
    invocations = {
        "runDetails.metadata.invocationId": ("runDetails", "metadata", "invocationId"),
        "metadata.buildInvocationId": ("metadata", "buildInvocationId"),
    }
    for where, keys in invocations.items():
        yield "run_id", f"predicate.{where}", _run_uri(_at(pred, *keys))
    yield from _generic(pred)


def _chainloop(pred: dict[str, Any]) -> Iterator[Place]:
    for field, keys in (
        ("run_id", ("workflowRunID", "workflow_run_id")),
        ("workflow", ("workflowName", "workflow_name", "name")),
        ("project", ("project",)),
    ):
        for key in keys:
            yield field, f"predicate.metadata.{key}", _at(pred, "metadata", key)
    yield from _generic(pred)


_READERS: dict[str, Reader] = {
    **dict.fromkeys(RUN_TYPES, _run),
    **dict.fromkeys(SLSA_TYPES, _slsa),
    **dict.fromkeys(CHAINLOOP_TYPES, _chainloop),
    **dict.fromkeys(WITNESS_TYPES + VSA_TYPES, _generic),
}


def reader_for(predicate_type: str | None) -> Reader | None:
    """The places a statement of ``predicate_type`` names its claims; None for a type that
    names none."""
    if not isinstance(predicate_type, str):
        return None
    if predicate_type.startswith(SBOM_TYPE_PREFIXES):
        return _generic
    return _READERS.get(predicate_type)


def predicate_type_of(statement: dict[str, Any]) -> str | None:
    """``predicateType``, or the old snake_case ``predicate_type``."""
    value = statement.get("predicateType", statement.get("predicate_type"))
    return value if isinstance(value, str) else None


def statement_claims(statement: dict[str, Any] | None) -> Claims:
    """The claims of ``statement`` (see the module doc); never raises on hostile input."""
    if not isinstance(statement, dict):
        return Claims()
    reader = reader_for(predicate_type_of(statement))
    pred = statement.get("predicate")
    if reader is None or not isinstance(pred, dict):
        return Claims()
    found: dict[str, tuple[str, str]] = {}
    for field, where, value in reader(pred):
        if not isinstance(value, str) or not value:
            continue
        first = found.setdefault(field, (where, value))
        if first[1] != value:
            return Claims(conflict=_disagree(field, first, (where, value)))
    claims = Claims(*(found[f][1] if f in found else None for f in FIELDS))
    subjects = statement.get("subject")
    for i, subject in enumerate(subjects if isinstance(subjects, list) else []):
        name = _at(subject, "name")
        if not isinstance(name, str) or not name.startswith(RUN_SUBJECT):
            continue
        named = name.removeprefix(RUN_SUBJECT)
        mine = f"{claims.project}/{claims.workflow}"
        if claims.project and claims.workflow and named != mine:
            return Claims(
                conflict=_disagree(
                    "project/workflow",
                    (f"{found['project'][0]} and {found['workflow'][0]}", mine),
                    (f"subject[{i}].name", named),
                )
            )
    return claims


def _disagree(field: str, first: tuple[str, str], second: tuple[str, str]) -> str:
    return f"{first[0]} names {field} {first[1]!r} but {second[0]} names {second[1]!r}"
