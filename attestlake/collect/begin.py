"""Beginning a run: what CI's ``attest init`` step does before anything is added.

:func:`begin_run` binds the contract (a YAML file, or a revision published in a store:
``STORE#NAME``, ``STORE#NAME@REVISION`` or ``STORE#NAME@sha256:<hex>``, with a warning when a
pinned revision is older than the latest) and checks the policies it names, discovers the
runner into a new
:class:`~attestlake.collect.record.RunRecord`, records the start in the store
(``run-<id>-started``, :func:`attestlake.collect.lifecycle.start`) when both a store and a
signing mode are given, and writes the state file the later steps read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attestlake.collect import lifecycle, run_state
from attestlake.collect.push import PushResult
from attestlake.collect.record import RunRecord
from attestlake.contracts.contracts import load_contract
from attestlake.contracts.model import Contract
from attestlake.contracts.publish import pull_contract
from attestlake.errors import ContractError
from attestlake.signing.signing import Signer
from attestlake.store import open_store


@dataclass(frozen=True)
class BegunRun:
    record: RunRecord
    #: The start recorded in the store, or None when no store or no signing mode was given.
    started: PushResult | None


def begin_run(
    contract: str,
    *,
    workflow: str,
    project: str,
    team: str | None,
    env: Mapping[str, str],
    dry_run: bool,
    run_id: str | None,
    annotations: Mapping[str, str],
    store: str | None,
    signing: dict[str, Any] | None,
    signer: Callable[[RunRecord], Signer],
    state: Path,
    on_warning: Callable[[str], None],
    check_policies: Callable[[Contract, Path | None], None] | None = None,
) -> BegunRun:
    """Start the run's attestation and save it to ``state``.

    ``signer`` makes the signer for the run's signing mode (called only to record the start);
    ``on_warning`` is told, as soon as the contract is pulled, when a pinned revision is not
    the latest. ``check_policies`` is given the contract and the directory of its file (None
    for a published one) when it names policies, to refuse one that cannot be evaluated
    before anything is recorded.
    """
    loaded, source = _bind_contract(contract, on_warning)
    base = None if source is not None else Path(contract).resolve().parent
    if loaded.policies:
        _policies_reachable(loaded, source)
        if check_policies is not None:
            check_policies(loaded, base)
    att = RunRecord.init(
        loaded,
        workflow=workflow,
        project=project,
        team=team,
        env=env,
        dry_run=dry_run,
        run_id=run_id,
        annotations=annotations,
        contract_source=source,
        store=store,
        signing=signing,
        contract_dir=str(base) if base is not None else None,
    )
    started = None
    if store and att.signing:
        started = lifecycle.start(att, signer(att), open_store(store))
    run_state.save(att, state)
    return BegunRun(att, started)


def _policies_reachable(contract: Contract, source: str | None) -> None:
    """ContractError when a published contract names a policy file: there is no directory
    for its path to be relative to, so it names library policies only."""
    files = [p.policy for p in contract.policies if p.is_file]
    if source is not None and files:
        raise ContractError(
            f"contract {contract.name} from {source} names policy file(s) {', '.join(files)}: "
            "a contract pulled from a store can name only policies of attestlake's library "
            "(a file's path is relative to a contract file)"
        )


def _bind_contract(contract: str, on_warning: Callable[[str], None]) -> tuple[Contract, str | None]:
    """The contract a file or a published reference names, and the reference (pinned to the
    revision pulled) when it was published."""
    if "#" in contract and not Path(contract).exists():
        pulled = pull_contract(contract)
        warning = pulled.warning()
        if warning:
            on_warning(warning)
        loaded, source = pulled.contract, pulled.source
    else:
        loaded, source = load_contract(contract), None
    ignored = loaded.ignored_policies_warning()
    if ignored:
        on_warning(ignored)
    return loaded, source
