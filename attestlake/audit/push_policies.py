"""A contract's policies, evaluated at ``attest push`` on the run about to be signed.

:func:`bind_policies` reads the policies a contract names (library names, ``.sql`` files
relative to the contract file, or policies SecOps published, pulled and verified under the
trust policy) with their ``with`` parameters checked against each policy's ``param`` lines;
``attest init`` and ``contract lint`` also run each once on an empty lake
(:func:`check_policies`), so a typo or a policy that cannot run fails before the run begins.
:func:`evaluate_at_push` turns the run statement, its SLSA provenance and the evidence bytes
into rows with the crawler's own normalisers (:mod:`attestlake.crawl.normalize`), loads them
into an in-memory lake with the lake's own tables (:func:`attestlake.lake.memory.memory_lake`,
read-only, no file access) and runs each policy there. A policy that reads material kinds
(``-- reads:``) none of which the run has is skipped, saying why: the same rule, on the same
kinds (:func:`attestlake.audit.policies.run_kinds`), as ``policy eval`` across a lake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attestlake.audit.policies import (
    evaluate,
    policy_directory,
    read_policy,
    run_kinds,
    skipped_reason,
    skips,
)
from attestlake.audit.published_policies import described, pull_policy
from attestlake.audit.queries import bind_params
from attestlake.audit.query_files import SavedQuery
from attestlake.collect.policy_outcome import (
    MAX_RECORDED_VIOLATIONS,
    PolicyEvaluation,
    PolicyEvaluator,
    PolicyInputs,
    clip,
)
from attestlake.collect.statements import canonical_bytes
from attestlake.contracts.model import Contract, PolicyReference
from attestlake.crawl.normalize import Context, Rows, normalise
from attestlake.errors import PublishError, QueryError
from attestlake.lake.memory import memory_lake
from attestlake.verify.outcome import VERIFIED, Outcome
from attestlake.verify.trust import TrustPolicy

#: The ``source`` of the rows made at push (their ``manifest_digest`` is not known yet).
AT_PUSH = "attest push"
PENDING = "sha256:" + "0" * 64


@dataclass(frozen=True)
class BoundPolicy:
    """A policy a contract names, read: its query, the sha256 of its file's bytes and the
    parameter values it runs with (the contract's ``with``, defaults filled in)."""

    query: SavedQuery
    digest: str
    params: dict[str, str]


def bind_policies(
    contract: Contract, base: Path | None, trust: TrustPolicy | None = None
) -> list[BoundPolicy]:
    """The policies ``contract`` names, read and checked; QueryError naming the contract and
    the policy for one that is unknown, unreadable, not a policy, or given bad parameters.
    ``base``: the directory of the contract file (None: a published contract). A published
    policy (``STORE#NAME[@REVISION]``) is pulled and used only once its declaration verifies
    under ``trust`` (:mod:`attestlake.audit.published_policies`); PublishError otherwise."""
    return [_bind(contract, ref, base, trust) for ref in contract.policies]


def check_policies(
    contract: Contract, base: Path | None, trust: TrustPolicy | None = None
) -> list[BoundPolicy]:
    """:func:`bind_policies`, then each policy run once on an empty in-memory lake, as
    ``attest init`` and ``contract lint`` do: a policy that does not run there (a table or
    column the lake lacks, a write or a file read the session refuses) or whose answer lacks
    a column a policy returns fails now, naming the contract and the policy, not at push."""
    bound = bind_policies(contract, base, trust)
    if not bound:
        return bound
    with memory_lake({}) as lake:
        for ref, policy in zip(contract.policies, bound, strict=True):
            try:
                evaluate(lake, [policy.query], {policy.query.name: policy.params})
            except QueryError as exc:
                raise QueryError(f"contract {contract.name}: policy {ref.policy}: {exc}") from None
    return bound


def _bind(
    contract: Contract, ref: PolicyReference, base: Path | None, trust: TrustPolicy | None
) -> BoundPolicy:
    where = f"contract {contract.name}: policy {ref.policy}"
    if ref.is_published:
        where = f"contract {contract.name}: policy {described(ref.policy)}"
    try:
        if ref.is_published:
            query, raw = _published(where, ref, trust)
        else:
            query, raw = read_policy(_policy_path(where, ref, base))
        params = bind_params(query, dict(ref.params))
    except QueryError as exc:
        raise QueryError(f"{where}: {exc}") from None
    return BoundPolicy(query, "sha256:" + hashlib.sha256(raw).hexdigest(), params)


def _published(
    where: str, ref: PolicyReference, trust: TrustPolicy | None
) -> tuple[SavedQuery, bytes]:
    """A published policy the contract names, pulled and verified under ``trust``."""
    if trust is None:
        raise PublishError(
            f"{where}: a published policy is used only once verified: give --trust POLICY (or "
            "set ATTESTLAKE_TRUST) whose declared_state names the store and SecOps's signer"
        )
    try:
        pulled = pull_policy(ref.policy, trust)
    except PublishError as exc:
        raise PublishError(f"{where}: {exc}") from None
    return pulled.query, pulled.raw


def _policy_path(where: str, ref: PolicyReference, base: Path | None) -> Path:
    if ref.is_file:
        if base is None:
            raise QueryError(f"{where}: a policy file needs the contract as a file")
        return base / ref.policy
    path = policy_directory() / f"{ref.policy}.sql"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in policy_directory().glob("*.sql")))
        raise QueryError(
            f"{where}: no such policy in attestlake's library ({known}); a policy file's "
            "path ends in .sql"
        )
    return path


def evaluator(
    contract: Contract, base: Path | None, trust: TrustPolicy | None = None
) -> PolicyEvaluator:
    """The evaluator ``attest push`` gives the collector: ``contract``'s policies, bound now."""
    bound = bind_policies(contract, base, trust)
    return lambda inputs: evaluate_at_push(bound, inputs)


def evaluate_at_push(
    policies: Sequence[BoundPolicy], inputs: PolicyInputs
) -> list[PolicyEvaluation]:
    """Each policy evaluated on the run ``inputs`` describe (see the module doc)."""
    rows = run_rows(inputs)
    out = []
    with memory_lake(rows.by_table) as lake:
        kinds = run_kinds(lake)
        present = frozenset().union(*kinds.values())
        for bound in policies:
            query = bound.query
            if skips(query, present):
                out.append(_evaluation(bound, (), 0, skipped=skipped_reason(query.reads)))
                continue
            (result,) = evaluate(lake, [query], {query.name: bound.params}, kinds=kinds)
            sentences = result.table.column("violation").to_pylist()
            recorded = tuple(
                clip(str(v) if v is not None else "(no violation sentence)")
                for v in sentences[:MAX_RECORDED_VIOLATIONS]
            )
            out.append(_evaluation(bound, recorded, len(sentences)))
    return out


def _evaluation(
    bound: BoundPolicy, violations: tuple[str, ...], count: int, skipped: str | None = None
) -> PolicyEvaluation:
    query = bound.query
    return PolicyEvaluation(
        name=query.name,
        digest=bound.digest,
        gate=query.gate,
        severity=query.severity,
        parameters=bound.params,
        violations=violations,
        violation_count=count,
        skipped=skipped,
    )


def run_rows(inputs: PolicyInputs) -> Rows:
    """The lake's rows for the run: its statement and provenance normalised as the crawler
    normalises them once verified, with the evidence files beside them."""
    evidence = {m.digest: data for m, data in inputs.evidence if m.digest}
    rows = Rows()
    for statement in (inputs.statement, inputs.provenance):
        if statement is None:
            continue
        payload = canonical_bytes(statement)
        digest = "sha256:" + hashlib.sha256(payload).hexdigest()
        doc: dict[str, Any] = dict(statement)
        outcome = Outcome(VERIFIED, statement=doc, payload=payload, format="statement")
        rows.extend(normalise(Context(PENDING, digest, AT_PUSH, outcome, digest, evidence)))
    return rows
