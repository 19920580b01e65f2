"""The collector: what CI runs to craft, check, sign and push one workflow run's attestation.

CI runs the steps as separate commands, so the run in progress lives in a state file between
them (``.attestlake/attestation.json`` by default). :class:`Attestation` is that state:
``init`` discovers the runner and binds the contract, ``add`` validates materials by kind,
``status`` says what the contract still needs, and ``push`` signs the statement and pushes it
with its evidence to a store, or refuses (pushing nothing) while anything required is missing.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attestlake.contracts import Contract, parse_contract
from attestlake.dsse import ENVELOPE_MEDIA_TYPE, INTOTO_PAYLOAD_TYPE
from attestlake.errors import ContractUnsatisfied, InputError, MaterialError
from attestlake.keys import KeySigner
from attestlake.materials import Material, read_material
from attestlake.runners import RunnerContext, discover
from attestlake.statements import RUN_PREDICATE_TYPE, canonical_bytes, iso, run_statement
from attestlake.store import Descriptor, Manifest, Store, sha256_digest
from attestlake.store.interface import EMPTY_JSON, EMPTY_MEDIA_TYPE
from attestlake.store.layout import atomic_write

DEFAULT_STATE = Path(".attestlake/attestation.json")
ARTIFACT_TYPE = "application/vnd.attestlake.run.v1+json"
ANNOTATION_PREFIX = "dev.attestlake."
STATE_VERSION = 1


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

    @property
    def complete(self) -> bool:
        return not self.missing_materials and not self.missing_annotations

    def missing(self) -> list[str]:
        return [f"material {m}" for m in self.missing_materials] + [
            f"annotation {a}" for a in self.missing_annotations
        ]


@dataclass(frozen=True)
class PushResult:
    store: str
    tag: str
    manifest_digest: str
    envelope_digest: str
    blobs: tuple[str, ...]
    already_pushed: bool = False


@dataclass
class Attestation:
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
    pushed: dict[str, Any] | None = None

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
    ) -> Attestation:
        for what, value in (("workflow", workflow), ("project", project)):
            if not value or not value.strip():
                raise InputError(f"--{what} must not be empty")
        runner = discover(env, contract.env_allow_list)
        if contract.runner_types and runner.type not in contract.runner_types and not dry_run:
            raise ContractUnsatisfied(
                f"contract {contract.name} requires runner {' or '.join(contract.runner_types)}, "
                f"but this is {runner.type} (use --dry-run to try the contract locally)",
                [f"runner {'/'.join(contract.runner_types)}"],
            )
        att = cls(
            run_id=run_id or uuid.uuid4().hex,
            workflow=workflow,
            project=project,
            team=team,
            contract=contract,
            runner=runner,
            started_at=now or datetime.now(UTC),
            dry_run=dry_run,
        )
        for k, v in (annotations or {}).items():
            att.annotate(k, v)
        for a in contract.annotations:
            if a.value is not None:
                att.annotations.setdefault(a.name, a.value)
        return att

    def annotate(self, name: str, value: str) -> None:
        if not name or not value:
            raise InputError(f"annotation {name!r} needs a name and a value")
        self.annotations[name] = value

    def add(
        self,
        name: str | None,
        value: str,
        *,
        kind: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Material:
        """Validate and record a material (by contract name, or a contract-less one with kind)."""
        self._not_pushed()
        req = self.contract.material(name) if name else None
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
        material, _ = read_material(
            name or f"{mkind.lower()}-{len(self.materials) + 1}",
            mkind,
            value,
            output=bool(req and req.output),
            annotations={**fixed, **(annotations or {})},
        )
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
                m.name for m in self.contract.materials if m.optional and m.name not in present
            ),
        )

    def statement_bytes(self, finished_at: datetime, status: str = "success") -> bytes:
        stmt = run_statement(
            run_id=self.run_id,
            status=status,
            workflow=self.workflow,
            project=self.project,
            team=self.team,
            contract=self.contract,
            runner=self.runner,
            materials=self.materials,
            annotations=self.annotations,
            started_at=self.started_at,
            finished_at=finished_at,
        )
        return canonical_bytes(stmt)

    def push(self, signer: KeySigner, store: Store, *, now: datetime | None = None) -> PushResult:
        """Sign and push; nothing is written to the store unless the contract is satisfied."""
        if self.pushed is not None:
            return PushResult(
                **{**self.pushed, "blobs": tuple(self.pushed["blobs"]), "already_pushed": True}
            )
        status = self.status()
        if not status.complete:
            raise ContractUnsatisfied(
                f"contract {self.contract.name} (revision {self.contract.revision}) is not satisfied; "
                f"missing: {', '.join(status.missing())}. Nothing was pushed.",
                status.missing(),
            )
        evidence = self._evidence()  # re-read and re-check every file before anything is written
        finished = now or datetime.now(UTC)
        envelope = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, self.statement_bytes(finished))
        env_bytes = envelope.to_json_bytes()
        layers = [
            Descriptor.for_bytes(
                ENVELOPE_MEDIA_TYPE, env_bytes, {ANNOTATION_PREFIX + "role": "envelope"}
            )
        ]
        for material, data in evidence:
            layers.append(
                Descriptor.for_bytes(
                    material.media_type or "application/octet-stream",
                    data,
                    {
                        "org.opencontainers.image.title": Path(material.value).name,
                        ANNOTATION_PREFIX + "material": material.name,
                        ANNOTATION_PREFIX + "role": "evidence",
                    },
                )
            )
        manifest = Manifest.build(
            artifact_type=ARTIFACT_TYPE,
            layers=layers,
            annotations=self._manifest_annotations(finished),
        )
        store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
        for material, data in evidence:
            store.put_blob(data, material.media_type or "application/octet-stream")
        store.put_blob(env_bytes, ENVELOPE_MEDIA_TYPE)
        tag = f"run-{self.run_id}"
        store.put_manifest(manifest, tag=tag)
        result = PushResult(
            store=store.ref,
            tag=tag,
            manifest_digest=manifest.digest,
            envelope_digest=sha256_digest(env_bytes),
            blobs=tuple(layer.digest for layer in layers),
        )
        self.pushed = {
            k: getattr(result, k)
            for k in ("store", "tag", "manifest_digest", "envelope_digest", "blobs")
        }
        return result

    def _evidence(self) -> list[tuple[Material, bytes]]:
        out = []
        for m in self.materials:
            if not m.is_file:
                continue
            checked, data = read_material(
                m.name, m.kind, m.value, output=m.output, annotations=m.annotations
            )
            if checked.digest != m.digest or data is None:
                raise MaterialError(
                    f"{m.value} changed since it was added (digest differs): add it again"
                )
            out.append((m, data))
        return out

    def _manifest_annotations(self, finished: datetime) -> dict[str, str]:
        ann = {
            "org.opencontainers.image.created": iso(finished),
            ANNOTATION_PREFIX + "kind": "attestation",
            ANNOTATION_PREFIX + "predicate-type": RUN_PREDICATE_TYPE,
            ANNOTATION_PREFIX + "run-id": self.run_id,
            ANNOTATION_PREFIX + "workflow": self.workflow,
            ANNOTATION_PREFIX + "project": self.project,
            ANNOTATION_PREFIX + "contract": f"{self.contract.name}@{self.contract.revision}",
        }
        if self.team:
            ann[ANNOTATION_PREFIX + "team"] = self.team
        return ann

    def _not_pushed(self) -> None:
        if self.pushed is not None:
            raise InputError("this run was already pushed; start a new one with 'attest init'")

    # -- state file ------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "runId": self.run_id,
            "workflow": self.workflow,
            "project": self.project,
            "team": self.team,
            "contract": base64.b64encode(self.contract.raw).decode(),
            "contractSource": self.contract.name,
            "runner": self.runner.to_json(),
            "startedAt": self.started_at.isoformat(),
            "materials": [{**m.to_json(), "value": m.value} for m in self.materials],
            "annotations": self.annotations,
            "dryRun": self.dry_run,
            "pushed": self.pushed,
        }

    def save(self, path: Path = DEFAULT_STATE) -> None:
        atomic_write(path, json.dumps(self.to_state(), indent=2).encode())

    @classmethod
    def load(cls, path: Path = DEFAULT_STATE) -> Attestation:
        try:
            state = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise InputError(
                f"no attestation in progress ({path} not found): run 'attestlake attest init' first"
            ) from None
        except ValueError as exc:
            raise InputError(f"{path} is not a valid attestation state file: {exc}") from None
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise InputError(f"{path} is not an attestation state file of version {STATE_VERSION}")
        try:
            contract = parse_contract(
                base64.b64decode(state["contract"]), source=state["contractSource"]
            )
            runner = RunnerContext(**state["runner"])
            materials = [
                Material(
                    name=m["name"],
                    kind=m["type"],
                    value=m["value"],
                    digest=("sha256:" + m["digest"]["sha256"]) if m.get("digest") else None,
                    media_type=m.get("mediaType"),
                    size=m.get("size"),
                    output=m["output"],
                    annotations=m.get("annotations") or {},
                    details=m.get("details") or {},
                )
                for m in state["materials"]
            ]
            return cls(
                run_id=state["runId"],
                workflow=state["workflow"],
                project=state["project"],
                team=state["team"],
                contract=contract,
                runner=runner,
                started_at=datetime.fromisoformat(state["startedAt"]),
                materials=materials,
                annotations=dict(state["annotations"]),
                dry_run=bool(state["dryRun"]),
                pushed=state.get("pushed"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{path} is damaged ({exc}); run 'attestlake attest init' again"
            ) from None
