"""The deploy gate: may this artifact ship?

:func:`gate` answers for one artifact (its sha256 digest) from a lake: it passes only when a
verified run built it (the artifact is a subject of the run's signed statement), the run
succeeded, its workflow is in the current inventory (trusted declared state), the contract
revision it was checked against is the newest one SecOps published, and the run violates none
of the gating policies (:mod:`attestlake.audit.policies`: every ``gate: true`` policy of the
library, and those asked for), and it has a material of each kind required (``--require
SBOM_CYCLONEDX_JSON``; ``SLSA_PROVENANCE``: trusted SLSA provenance names the run). Otherwise it
is refused with every reason, for each run that built it. The query is ``sql/gate.sql``.

:func:`subject_digest` turns what a deploy pipeline has into the digest: ``sha256:<hex>``, an
image reference (its digest, or its tag resolved by the registry), or a file (hashed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attestlake._internal.regular_files import open_regular
from attestlake.audit.policies import PROVENANCE, evaluate, run_kinds
from attestlake.audit.query_files import SavedQuery
from attestlake.errors import Error, InputError
from attestlake.evidence.materials import MATERIAL_KINDS
from attestlake.lake.lake import Lake
from attestlake.store import is_digest

_SQL = Path(__file__).with_name("sql") / "gate.sql"


class GateRefused(Error):
    """The gate refused the artifact (see its reasons)."""

    exit_code = 3


@dataclass(frozen=True)
class GateResult:
    """The gate's answer for one artifact: ``passed``, the runs that built it, and why it was
    refused (empty when it passed)."""

    subject: str
    digest: str
    passed: bool
    runs: tuple[dict[str, Any], ...] = ()
    reasons: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "digest": self.digest,
            "passed": self.passed,
            "reasons": list(self.reasons),
            "runs": [
                {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                for r in self.runs
            ],
        }

    def describe(self) -> list[str]:
        verdict = "PASS" if self.passed else "REFUSED"
        named = self.subject if self.subject == self.digest else f"{self.subject} ({self.digest})"
        lines = [f"{verdict}: {named}"]
        for run in self.runs:
            lines.append(
                f"  built by run {run['run_id']} of {run['project']}/{run['workflow']} "
                f"({run['status']}, contract {run['contract_name']} revision "
                f"{run['contract_revision']}, signed by {run['signer']})"
            )
        return lines + [f"  - {reason}" for reason in self.reasons]


def _problems(run: dict[str, Any]) -> list[str]:
    """Why one run that built the artifact does not let it ship (empty: it does)."""
    who = f"run {run['run_id']} of {run['project']}/{run['workflow']}"
    problems = []
    if run["status"] != "success":
        problems.append(f"{who} ended {run['status']}: it shipped nothing")
    if not run["in_inventory"]:
        problems.append(f"{who}: the workflow is not in the current inventory")
    current = run["current_revision"]
    if current is None:
        problems.append(
            f"{who}: no trusted published revision of contract {run['contract_name']} in "
            "the lake, so its revision cannot be shown current (crawl SecOps's store)"
        )
    elif run["contract_revision"] is None or run["contract_revision"] < current:
        problems.append(
            f"{who} was checked against contract {run['contract_name']} revision "
            f"{run['contract_revision']}; revision {current} is current"
        )
    return problems


def gate(
    lake: Lake,
    digest: str,
    subject: str | None = None,
    policies: Sequence[SavedQuery] = (),
    require: Sequence[str] = (),
) -> GateResult:
    """Whether the artifact with ``digest`` may ship (see the module doc); ``policies``: the
    policies whose violations by a run that built it refuse it; ``require``: the material
    kinds a run that built it must have (:func:`check_required`)."""
    if not is_digest(digest):
        raise InputError(f"not a sha256 digest: {digest!r} (sha256:<64 hex digits>)")
    check_required(require)
    runs = tuple(lake.sql(_SQL.read_text(), {"digest": digest}).to_pylist())
    shown = subject or digest
    if not runs:
        reason = f"no verified run built {digest}: it is not a subject of any trusted statement"
        return GateResult(shown, digest, False, (), (reason,))
    problems = {r["run_id"]: _problems(r) for r in runs}
    kinds = run_kinds(lake)
    for result in evaluate(lake, policies, runs=set(problems), kinds=kinds):
        for row in result.table.select(["run_id", "violation"]).to_pylist():
            problems[row["run_id"]].append(
                f"run {row['run_id']} violates policy {result.policy.name}: {row['violation']}"
            )
    if require:
        for run in runs:
            has = kinds.get(run["run_id"], frozenset())
            problems[run["run_id"]] += [
                f"run {run['run_id']} of {run['project']}/{run['workflow']} has no {kind} "
                + ("(no trusted SLSA provenance names it)" if kind == PROVENANCE else "material")
                for kind in dict.fromkeys(require)
                if kind not in has
            ]
    passed = any(not p for p in problems.values())
    reasons = () if passed else tuple(p for found in problems.values() for p in found)
    return GateResult(shown, digest, passed, runs, reasons)


def check_required(require: Sequence[str]) -> None:
    """InputError naming the valid kinds for a required kind that is not a material kind."""
    unknown = [k for k in require if k not in MATERIAL_KINDS]
    if unknown:
        raise InputError(
            f"--require {unknown[0]}: not a material kind; one of: "
            + ", ".join(sorted(MATERIAL_KINDS))
        )


def subject_digest(subject: str) -> str:
    """The sha256 digest of what ``subject`` names: ``sha256:<hex>``, a file (hashed), or an
    image reference (its ``@sha256:`` digest, or its tag resolved by the registry)."""
    if is_digest(subject):
        return subject
    path = Path(subject)
    if path.is_file():
        try:
            h = hashlib.sha256()
            with open_regular(path) as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            return f"sha256:{h.hexdigest()}"
        except OSError as exc:
            raise InputError(f"{subject}: cannot read: {exc.strerror or exc}") from None
    from attestlake.store.images import parse_image, resolve_image

    if parse_image(subject) is None:
        raise InputError(
            f"not a digest, a file or an image reference: {subject!r} (give sha256:<hex>, a "
            "path, or REGISTRY/NAME[:TAG|@sha256:...])"
        )
    return resolve_image(subject).rsplit("@", 1)[1]
