"""The state file that carries a run in progress between the ``attest`` steps of a CI job.

CI runs ``init``, ``add``, ``status``, ``push`` and ``reset`` as separate processes; the state
(``.attestlake/attestation.json`` by default) is the run so far: the contract's exact bytes and
revision (and the directory of a contract file, which its policy files are relative to), the runner context, the materials (values, digests, details), annotations, the store
and signing mode chosen at ``init``, and what was already pushed. It holds no secret: only the
recorded variables, and a key's path (never the key or its password).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from attestlake.collect.record import RunRecord
from attestlake.contracts.model import Contract
from attestlake.errors import InputError
from attestlake.evidence.materials import Material
from attestlake.evidence.runner_context import RunnerContext

DEFAULT_STATE = Path(".attestlake/attestation.json")
STATE_VERSION = 1


def to_state(att: RunRecord) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "runId": att.run_id,
        "workflow": att.workflow,
        "project": att.project,
        "team": att.team,
        "contract": base64.b64encode(att.contract.raw).decode(),
        "contractSource": att.contract.name,
        "contractName": att.contract.name,
        "contractRevision": att.contract.revision,
        "contractParsed": att.contract.to_state(),
        "contractRef": att.contract_source,
        "contractDir": att.contract_dir,
        "runner": att.runner.to_json(),
        "startedAt": att.started_at.isoformat(),
        "materials": [{**m.to_json(), "value": m.value} for m in att.materials],
        "annotations": att.annotations,
        "dryRun": att.dry_run,
        "store": att.store,
        "signing": att.signing,
        "started": att.started,
        "pushed": att.pushed,
        "reset": att.reset_record,
    }


def save(att: RunRecord, path: Path = DEFAULT_STATE) -> None:
    from attestlake._internal._atomic import replace_file

    replace_file(path, json.dumps(to_state(att), indent=2).encode())


def _contract(state: dict[str, Any], check: bool) -> Contract | None:
    """The state's contract, ``None`` when ``check`` finds its parsed form and its bytes
    disagree. A state written before the parsed form was kept has its bytes parsed."""
    raw = base64.b64decode(state["contract"])
    parsed = state.get("contractParsed")
    kept = None if parsed is None else _named(state, Contract.from_state(parsed, raw))
    if kept is not None and not check:
        return kept
    from attestlake.contracts.contracts import parse_contract

    contract = _named(state, parse_contract(raw, source=state["contractSource"]))
    return None if kept is not None and kept != contract else contract


def _named(state: dict[str, Any], contract: Contract) -> Contract:
    """``contract`` with the name and revision the state records (a store's, for a contract
    pulled from one)."""
    return replace(
        contract,
        name=state.get("contractName", contract.name),
        revision=int(state.get("contractRevision", contract.revision)),
    )


def _material(m: dict[str, Any]) -> Material:
    return Material(
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


def load(path: Path = DEFAULT_STATE, *, check_contract: bool = False) -> RunRecord:
    """The run in progress at ``path``. Its contract is read from the parsed form the state
    keeps beside the contract's bytes (no YAML is parsed); with ``check_contract`` (the steps
    that sign) the bytes are parsed again and must give the same contract."""
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
        contract = _contract(state, check_contract)
        if contract is None:
            raise InputError(
                f"{path} is damaged (its contract's parsed form differs from the contract's "
                "bytes); run 'attestlake attest init' again"
            )
        return RunRecord(
            run_id=state["runId"],
            workflow=state["workflow"],
            project=state["project"],
            team=state["team"],
            contract=contract,
            runner=RunnerContext(**state["runner"]),
            started_at=datetime.fromisoformat(state["startedAt"]),
            materials=[_material(m) for m in state["materials"]],
            annotations=dict(state["annotations"]),
            dry_run=bool(state["dryRun"]),
            contract_source=state.get("contractRef"),
            contract_dir=state.get("contractDir"),
            store=state.get("store"),
            signing=state.get("signing"),
            started=state.get("started"),
            pushed=state.get("pushed"),
            reset_record=state.get("reset"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path} is damaged ({exc}); run 'attestlake attest init' again") from None
