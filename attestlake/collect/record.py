"""The run record: one workflow run's attestation in the making, as plain data.

:class:`RunRecord` is what the ``attest`` steps share through the state file
(:mod:`attestlake.collect.run_state`): ``init`` discovers the runner and binds the contract;
``add`` validates materials by kind; ``status`` says what the contract still needs; the run
statement and SLSA provenance are built from it. Recording the run in a store is
:mod:`attestlake.collect.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from attestlake.contracts.model import Contract, MaterialGroup, MaterialRequirement
from attestlake.errors import ContractUnsatisfied, InputError, MaterialError
from attestlake.evidence.materials import Material
from attestlake.evidence.runner_context import RunnerContext
from attestlake.evidence.runners import discover, job_key
from attestlake.redaction import redact, redact_optional, redact_values


@dataclass(frozen=True)
class Status:
    """What the contract still needs before the run can be pushed."""

    contract: str
    revision: int
    runner_type: str
    present: tuple[str, ...]
    missing_materials: tuple[str, ...]
    missing_annotations: tuple[str, ...]
    optional_missing: tuple[str, ...]
    runner_allowed: bool = True
    #: Each "at least one of" group of the contract with the members added (none: unmet).
    groups: tuple[tuple[MaterialGroup, tuple[str, ...]], ...] = ()

    @property
    def unmet_groups(self) -> tuple[MaterialGroup, ...]:
        return tuple(group for group, met in self.groups if not met)

    @property
    def complete(self) -> bool:
        return not (self.missing_materials or self.missing_annotations or self.unmet_groups)

    def missing(self) -> list[str]:
        return (
            [f"material {m}" for m in self.missing_materials]
            + [
                f"one of group {g.name} ({', '.join(m.name for m in g.members)})"
                for g in self.unmet_groups
            ]
            + [f"annotation {a}" for a in self.missing_annotations]
        )


def derive_run_id(runner: RunnerContext, workflow: str, project: str) -> str | None:
    """A run id that every step of one CI job computes alike (None on a generic runner).

    So ``init`` run twice in one job (a retried step) attests the same run, and the store keeps
    one attestation for it. Matrix jobs that share a job name need distinct ``--workflow``
    values or ``--run-id``.
    """
    key = job_key(runner)
    if key is None:
        return None
    import hashlib  # on first use: a collector step that reads its state has no id to derive

    return hashlib.sha256(f"{key};workflow={workflow};project={project}".encode()).hexdigest()[:32]


@dataclass
class RunRecord:
    run_id: str
    workflow: str
    project: str
    team: str | None
    contract: Contract
    runner: RunnerContext
    started_at: datetime
    materials: list[Material] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    #: Where the contract came from: a published reference pinned to its revision, or None.
    contract_source: str | None = None
    #: The store and signing mode given at ``init`` (defaults for ``push`` and ``reset``).
    store: str | None = None
    signing: dict[str, Any] | None = None
    started: dict[str, Any] | None = None
    pushed: dict[str, Any] | None = None
    reset_record: dict[str, Any] | None = None
    #: The directory of the contract file, which the paths of its policy files are relative
    #: to (None for a contract pulled from a store: it names library policies only).
    contract_dir: str | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        contract: Contract,
        *,
        workflow: str,
        project: str,
        team: str | None = None,
        env: Mapping[str, str],
        now: datetime | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
        annotations: Mapping[str, str] | None = None,
        contract_source: str | None = None,
        store: str | None = None,
        signing: dict[str, Any] | None = None,
        contract_dir: str | None = None,
    ) -> Self:
        for what, value in (("workflow", workflow), ("project", project)):
            if not value or not value.strip():
                raise InputError(f"--{what} must not be empty")
        if run_id is not None and not run_id.replace("-", "").isalnum():
            raise InputError("--run-id: letters, digits and '-' only")
        if store is not None:
            from attestlake.store.reference import check_reference

            check_reference(store)
        runner = discover(env, contract.env_allow_list)
        if not cls._allows(contract, runner) and not dry_run:
            raise ContractUnsatisfied(
                f"contract {contract.name} requires runner {' or '.join(contract.runner_types)}, "
                f"but this is {runner.type} (use --dry-run to try the contract locally)",
                [f"runner {'/'.join(contract.runner_types)}"],
            )
        if run_id is None:
            import uuid  # on first use, as hashlib above

            run_id = derive_run_id(runner, workflow, project) or uuid.uuid4().hex
        att = cls(
            run_id=run_id,
            workflow=workflow,
            project=project,
            team=team,
            contract=contract,
            runner=runner,
            started_at=now or datetime.now(UTC),
            dry_run=dry_run,
            contract_source=contract_source,
            store=store,
            signing=signing,
            contract_dir=contract_dir,
        )
        for k, v in (annotations or {}).items():
            att.annotate(k, v)
        for a in contract.annotations:
            if a.value is not None:
                att.annotations.setdefault(a.name, redact(a.value))
        return att

    @staticmethod
    def _allows(contract: Contract, runner: RunnerContext) -> bool:
        return not contract.runner_types or runner.type in contract.runner_types

    def annotate(self, name: str, value: str) -> None:
        if not name or not value:
            raise InputError(f"annotation {name!r} needs a name and a value")
        self.annotations[name] = redact(value)

    def _slot(self, kind: str, value: str, detected: bool) -> MaterialRequirement | None:
        """The contract's material not yet added that a value of ``kind`` fills (None: it is
        one the contract does not name); MaterialError when that would be a guess."""
        present = {m.name for m in self.materials}
        unfilled = [m for m in self.contract.materials if m.name not in present]
        fits = [m for m in unfilled if m.kind == kind]
        if len(fits) > 1:
            raise MaterialError(
                f"contract {self.contract.name} has {len(fits)} {kind} materials not yet "
                f"added ({', '.join(m.name for m in fits)}): say which with --name"
            )
        if fits:
            return fits[0]
        if detected and kind == "STRING" and unfilled:
            wanted = ", ".join(f"{m.name} ({m.kind})" for m in unfilled)
            raise MaterialError(
                f"{value!r} is not a file or an image reference, and contract "
                f"{self.contract.name} has no string material to fill (not yet added: "
                f"{wanted}); give --kind STRING to record it as a string the contract does "
                "not name"
            )
        return None

    def add(
        self,
        name: str | None,
        value: str,
        *,
        kind: str | None = None,
        annotations: Mapping[str, str] | None = None,
        resolve_image: Callable[[str], str] | None = None,
    ) -> Material:
        """Validate and record a material; nothing is recorded if it does not check out.

        By contract name; or, without a name, by kind (given, or detected from the value:
        :func:`~attestlake.evidence.detect.detect_kind`): the contract's one material of that
        kind not yet added, else a material the contract does not name. A value whose kind
        was detected as a string fills the contract's string material; with none to fill
        while others are still missing it is refused (``kind="STRING"`` records it anyway).
        """
        self._open()
        if not value.strip():
            raise MaterialError("the material value is empty (an unset CI variable?)")
        detected = name is None and kind is None
        req = self.contract.material(name) if name else None
        if name is None:
            from attestlake.evidence.detect import detect_kind

            kind = kind or detect_kind(value)
            req = self._slot(kind, value, detected)
            name = req.name if req else None
        if req is None and kind is None:
            known = ", ".join(m.name for m in self.contract.materials) or "none"
            raise MaterialError(
                f"material {name!r} is not in contract {self.contract.name} (materials: {known}); "
                "give --kind to add a material the contract does not name"
            )
        if req is not None and kind is not None and kind != req.kind:
            raise MaterialError(f"material {name!r} is {req.kind} in the contract, not {kind}")
        mkind = req.kind if req is not None else str(kind)
        fixed = {a.name: a.value for a in (req.annotations if req else ()) if a.value is not None}
        from attestlake.evidence.materials import read_material

        try:
            material, _ = read_material(
                name or f"{mkind.lower().replace('_', '-')}-{len(self.materials) + 1}",
                mkind,
                value,
                output=bool(req and req.output),
                annotations=redact_values({**fixed, **(annotations or {})}),
                resolve_image=resolve_image,
            )
        except MaterialError as exc:
            if detected and mkind == "CONTAINER_IMAGE":
                raise MaterialError(
                    f"{exc} (read as an image reference: give --kind STRING if the text "
                    "itself is meant)"
                ) from None
            raise
        self.materials = [m for m in self.materials if m.name != material.name] + [material]
        return material

    def status(self) -> Status:
        present = {m.name: m for m in self.materials}
        missing_materials = tuple(
            m.name for m in self.contract.required_materials() if m.name not in present
        )
        missing_ann = [a.name for a in self.contract.annotations if a.name not in self.annotations]
        for req in self.contract.materials:
            if req.name in present:
                missing_ann += [
                    f"{req.name}.{a.name}"
                    for a in req.annotations
                    if a.name not in present[req.name].annotations
                ]
        return Status(
            contract=self.contract.name,
            revision=self.contract.revision,
            runner_type=self.runner.type,
            present=tuple(present),
            missing_materials=missing_materials,
            missing_annotations=tuple(missing_ann),
            optional_missing=tuple(
                m.name for m in self.contract.optional_materials() if m.name not in present
            ),
            runner_allowed=self._allows(self.contract, self.runner),
            groups=tuple((g, g.met_by(present)) for g in self.contract.groups()),
        )

    # -- statements ------------------------------------------------------------------------
    def statement_bytes(
        self,
        finished_at: datetime | None,
        status: str = "success",
        reason: str | None = None,
        *,
        policy_evaluations: Sequence[Mapping[str, Any]] | None = None,
    ) -> bytes:
        from attestlake.collect.statements import canonical_bytes

        return canonical_bytes(self.statement(finished_at, status, reason, policy_evaluations))

    def statement(
        self,
        finished_at: datetime | None,
        status: str = "success",
        reason: str | None = None,
        policy_evaluations: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The run statement, as :meth:`statement_bytes` serialises it."""
        from attestlake.collect.statements import run_statement

        return run_statement(
            run_id=self.run_id,
            status=status,
            workflow=self.workflow,
            project=self.project,
            team=self.team,
            contract=self.contract,
            runner=self.runner,
            materials=self.materials,
            annotations=redact_values(self.annotations),
            started_at=self.started_at,
            finished_at=finished_at,
            reason=redact_optional(reason),
            contract_source=self.contract_source,
            dry_run=self.dry_run,
            policy_evaluations=policy_evaluations,
        )

    def provenance_bytes(self, finished_at: datetime) -> bytes:
        from attestlake.collect.statements import canonical_bytes

        return canonical_bytes(self.provenance(finished_at))

    def provenance(self, finished_at: datetime) -> dict[str, Any]:
        """The SLSA provenance statement for the outputs, as :meth:`provenance_bytes` serialises it."""
        from attestlake.collect.provenance import provenance_statement

        return provenance_statement(
            run_id=self.run_id,
            workflow=self.workflow,
            project=self.project,
            team=self.team,
            contract=self.contract,
            runner=self.runner,
            materials=self.materials,
            started_at=self.started_at,
            finished_at=finished_at,
        )

    def _open(self) -> None:
        if self.pushed is not None:
            raise InputError("this run was already pushed; start a new one with 'attest init'")
        if self.reset_record is not None:
            raise InputError("this run was reset; start a new one with 'attest init'")
