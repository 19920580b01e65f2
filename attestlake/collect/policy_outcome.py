"""What the contract's policies said about a run at push, as the run statement records it.

A contract may name attestlake policies (SQL, docs/policies.md). Before anything is signed,
``attest push`` evaluates them on the run's own materials (the evaluator is given to
:func:`attestlake.collect.lifecycle.push`; attestlake's is
:mod:`attestlake.audit.push_policies`) and records each evaluation in the run statement's
``policyEvaluations`` (docs/predicate-run-v1.md): the policy, the sha256 of its file, whether it
gates, the parameters it ran with, its violations (at most :data:`MAX_RECORDED_VIOLATIONS`, and
how many there were) or why it was skipped. A violated gating policy refuses the push
(:class:`~attestlake.errors.PolicyViolated`, nothing signed or written).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from attestlake.evidence.materials import Material

#: Violations of one policy recorded in the statement; ``violationCount`` says how many
#: there were in all.
MAX_RECORDED_VIOLATIONS = 100
#: A violation sentence longer than this is cut (with ``…``) in the statement.
MAX_VIOLATION_LENGTH = 1000

PASSED, VIOLATED, SKIPPED = "passed", "violated", "skipped"


def clip(sentence: str) -> str:
    """A violation sentence as recorded: at most :data:`MAX_VIOLATION_LENGTH` characters."""
    if len(sentence) <= MAX_VIOLATION_LENGTH:
        return sentence
    return sentence[: MAX_VIOLATION_LENGTH - 1] + "…"


@dataclass(frozen=True)
class PolicyEvaluation:
    """One policy evaluated on one run: its violations, or why it was skipped."""

    name: str
    #: ``sha256:<hex>`` of the policy file's bytes.
    digest: str
    gate: bool
    severity: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: The first :data:`MAX_RECORDED_VIOLATIONS` violation sentences.
    violations: tuple[str, ...] = ()
    #: How many violations there were (more than ``violations`` holds when cut).
    violation_count: int = 0
    #: Why the policy was not evaluated (its inputs are absent from the run), else None.
    skipped: str | None = None

    @property
    def status(self) -> str:
        if self.skipped is not None:
            return SKIPPED
        return VIOLATED if self.violation_count else PASSED

    @property
    def blocks(self) -> bool:
        """True when the push must be refused: a gating policy with violations."""
        return self.gate and self.status == VIOLATED

    def to_json(self) -> dict[str, Any]:
        """The ``policyEvaluations`` entry of the run statement."""
        out: dict[str, Any] = {
            "name": self.name,
            "digest": {"sha256": self.digest.removeprefix("sha256:")},
            "gate": self.gate,
            "severity": self.severity,
            "parameters": dict(sorted(self.parameters.items())),
            "status": self.status,
            "violations": list(self.violations),
            "violationCount": self.violation_count,
        }
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out

    def sentences(self) -> list[str]:
        """Each recorded violation as ``policy NAME: VIOLATION``, and how many were left out."""
        out = [f"policy {self.name}: {v}" for v in self.violations]
        if self.violation_count > len(self.violations):
            more = self.violation_count - len(self.violations)
            out.append(f"policy {self.name}: and {more} more violation(s)")
        return out


@dataclass(frozen=True)
class PolicyInputs:
    """What a run's policies are evaluated on: the run statement about to be signed, the SLSA
    provenance signed beside it (None when there is none) and the evidence files' bytes."""

    statement: Mapping[str, Any]
    provenance: Mapping[str, Any] | None
    evidence: Sequence[tuple[Material, bytes]]


#: Evaluates a contract's policies on a run (attestlake's: attestlake.audit.push_policies).
PolicyEvaluator = Callable[[PolicyInputs], Sequence[PolicyEvaluation]]


def blocking(evaluations: Sequence[PolicyEvaluation]) -> list[PolicyEvaluation]:
    return [e for e in evaluations if e.blocks]


def warnings(evaluations: Sequence[PolicyEvaluation]) -> list[PolicyEvaluation]:
    """Violated policies that do not gate: recorded and shown, the push goes on."""
    return [e for e in evaluations if e.status == VIOLATED and not e.gate]
