"""The collector's steps (``attestlake attest init|add|status|push|reset``) without typer.

CI runs a step on every build, so a step is parsed by :mod:`attestlake._cli.step_args` and run
here without importing typer or building the whole command line; typer's commands
(:mod:`attestlake._cli.collect`) call the same functions, with the same arguments, for
everything else (help, usage errors, ``--verbose``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from attestlake._cli.console import echo, key_values
from attestlake._cli.signers import load_trust, make_signer, signing_spec
from attestlake.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from attestlake.collect.policy_outcome import PolicyEvaluation, PolicyEvaluator
    from attestlake.collect.push import PushResult
    from attestlake.collect.record import RunRecord, Status
    from attestlake.contracts.model import Contract
    from attestlake.store import Store

__all__ = ["add", "init", "push", "reset", "status"]

#: Exit code of ``attest status`` while the run is not ready to push.
NOT_READY = 3


# -- helpers -----------------------------------------------------------------------------------
def _store(att: RunRecord, to: str | None) -> Store:
    from attestlake.store import open_store

    ref = to or att.store
    if not ref:
        raise InputError("no store: give --to (here or to 'attest init')")
    return open_store(ref)


def _ci_report(
    att: RunRecord,
    status: Status,
    result: PushResult | None,
    step: str,
    policies: tuple[PolicyEvaluation, ...] = (),
) -> None:
    from attestlake.collect import ci_summary

    if not ci_summary.in_github_actions():
        return
    summary = ci_summary.summary_markdown(att, status, result, step=step, policies=policies)
    ci_summary.write_step_summary(summary)
    if result is None:
        for line in ci_summary.error_annotations(att, status, policies):
            echo(line)


def _policy_evaluator(att: RunRecord, trust: Path | None) -> PolicyEvaluator | None:
    """The contract's policies, read now (so a bad one fails before anything is signed);
    None when it names none: then nothing of the policy machinery (DuckDB) is imported."""
    if not att.contract.policies or att.pushed is not None:
        return None
    from attestlake.audit.push_policies import evaluator

    base = Path(att.contract_dir) if att.contract_dir else None
    return evaluator(att.contract, base, load_trust(trust))


def _print_policies(evaluations: tuple[PolicyEvaluation, ...]) -> None:
    """One line per policy evaluated; a violated policy that does not gate is a warning."""
    from attestlake.collect.policy_outcome import VIOLATED

    for e in evaluations:
        note = f" ({e.skipped})" if e.skipped else ""
        count = f": {e.violation_count} violation(s)" if e.status == VIOLATED else ""
        gate = "gating" if e.gate else "not gating"
        echo(f"  policy {e.name} ({gate}): {e.status}{count}{note}")
        if e.status == VIOLATED and not e.gate:
            for line in e.sentences():
                _contract_warning(f"{line} (recorded; the policy does not gate)")


def _contract_warning(warning: str) -> None:
    from attestlake.collect.ci_summary import in_github_actions, warning_annotation

    echo(f"warning: {warning}", err=True)
    if in_github_actions():
        echo(warning_annotation(warning))


def _print_status(att: RunRecord, status: Status) -> None:
    from attestlake.collect.ci_summary import explain_missing

    echo(f"contract {status.contract} revision {status.revision}; runner {status.runner_type}")
    echo(f"  present: {', '.join(status.present) or 'none'}")
    if status.optional_missing:
        echo(f"  optional, not added: {', '.join(status.optional_missing)}")
    for group, met in status.groups:
        members = ", ".join(m.name for m in group.members)
        state = f"met by {', '.join(met)}" if met else "unmet: add one of them"
        echo(f"  group {group.name} (at least one of {members}): {state}")
    if status.complete and status.runner_allowed:
        echo("  ready to push")
    else:
        echo(f"  missing: {', '.join(status.missing()) or 'nothing'}")
        for line in explain_missing(att, status):
            echo(f"    - {line}")


def _policy_check(trust: Path | None) -> Callable[[Contract, Path | None], None]:
    """What ``attest init`` checks the contract's policies with (under ``trust``): each read,
    its parameters checked, and run once on an empty lake."""

    def check(contract: Contract, base: Path | None) -> None:
        from attestlake.audit.push_policies import check_policies

        check_policies(contract, base, load_trust(trust) if contract.policies else None)

    return check


def _print_started(att: RunRecord, started: PushResult | None, to: str | None) -> None:
    echo(
        f"attestation {att.run_id} started: workflow {att.workflow}, project {att.project}, "
        f"contract {att.contract.name} revision {att.contract.revision}, runner {att.runner.type}"
        + (" (dry run)" if att.dry_run else "")
    )
    if started is not None:
        echo(f"  start recorded: {started.store}:{started.tag}")
    elif to:
        echo("  start not recorded (no --key or --keyless)")
    _print_status(att, att.status())


def _pushed(result: PushResult) -> None:
    verb = "already pushed" if result.already_pushed else "pushed"
    echo(f"{verb} {result.store}:{result.tag}")
    echo(f"  manifest {result.manifest_digest}\n  envelope {result.envelope_digest}")
    if result.provenance_digest:
        echo(f"  provenance {result.provenance_digest}")
    if result.signer:
        echo(f"  signed by {result.signer}")
    for ref in result.referrers:
        echo(f"  attached to {ref}")


# -- steps -------------------------------------------------------------------------------------
def init(
    *,
    contract: str,
    workflow: str,
    project: str,
    team: str | None,
    annotation: list[str] | None,
    dry_run: bool,
    run_id: str | None,
    to: str | None,
    key: Path | None,
    keyless: bool,
    staging: bool,
    trust: Path | None,
    state: Path,
) -> None:
    """Start an attestation (``attest init``)."""
    from attestlake.collect.begin import begin_run

    begun = begin_run(
        contract,
        workflow=workflow,
        project=project,
        team=team,
        env=os.environ,
        dry_run=dry_run,
        run_id=run_id,
        annotations=key_values(annotation, "--annotation"),
        store=to,
        signing=signing_spec(key, keyless, staging),
        signer=lambda att: make_signer(att, None, False, False),
        state=state,
        on_warning=_contract_warning,
        check_policies=_policy_check(trust),
    )
    _print_started(begun.record, begun.started, to)


def add(
    *,
    value: str,
    name: str | None,
    kind: str | None,
    annotation: list[str] | None,
    state: Path,
) -> None:
    """Add a material (``attest add``)."""
    from attestlake.collect import run_state

    att = run_state.load(state)

    def resolve_image(ref: str) -> str:  # an image named without its digest: the store's client
        from attestlake.store import open_store
        from attestlake.store.images import resolve_image

        return resolve_image(ref, open_store(att.store) if att.store else None)

    material = att.add(
        name,
        value,
        kind=kind,
        annotations=key_values(annotation, "--annotation"),
        resolve_image=resolve_image,
    )
    run_state.save(att, state)
    echo(f"added {material.name} ({material.kind}) {material.digest or material.value}")


def status(
    *,
    as_json: bool,
    state: Path,
) -> None:
    """Show what the attestation holds and still needs (``attest status``): exit 3 while the run is not ready to push."""
    from attestlake.collect import run_state
    from attestlake.collect.ci_summary import explain_missing

    att = run_state.load(state)
    status = att.status()
    ready = status.complete and status.runner_allowed
    if as_json:
        body = {
            "runId": att.run_id,
            "contract": status.contract,
            "revision": status.revision,
            "contractDigest": att.contract.digest,
            "contractSource": att.contract_source,
            "runner": status.runner_type,
            "runnerAllowed": status.runner_allowed,
            "present": list(status.present),
            "missing": status.missing(),
            "groups": [
                {"name": g.name, "members": [m.name for m in g.members], "metBy": list(met)}
                for g, met in status.groups
            ],
            "explanations": explain_missing(att, status),
            "complete": status.complete,
            "pushed": att.pushed is not None,
        }
        echo(json.dumps(body, indent=2))
    else:
        echo(f"attestation {att.run_id}: workflow {att.workflow}, project {att.project}")
        _print_status(att, status)
    if not ready:
        if not as_json:  # GitHub's annotations go to stdout: the JSON stays JSON
            _ci_report(att, status, None, "status")
        raise SystemExit(NOT_READY)


def push(
    *,
    to: str | None,
    key: Path | None,
    keyless: bool,
    staging: bool,
    annotation: list[str] | None,
    provenance: bool,
    bundle_out: Path | None,
    trust: Path | None,
    state: Path,
) -> None:
    """Sign and push the attestation (``attest push``)."""
    from attestlake.collect import lifecycle, run_state
    from attestlake.errors import PolicyViolated

    att = run_state.load(state, check_contract=True)
    for k, v in key_values(annotation, "--annotation").items():
        att.annotate(k, v)
    status = att.status()
    if not (status.complete and status.runner_allowed) and att.pushed is None:
        _ci_report(att, status, None, "push")
    try:
        result = lifecycle.push(
            att,
            make_signer(att, key, keyless, staging),
            _store(att, to),
            provenance=provenance,
            bundle_out=bundle_out,
            policies=_policy_evaluator(att, trust),
        )
    except PolicyViolated as exc:
        from attestlake.collect.policy_outcome import PolicyEvaluation

        said = tuple(e for e in exc.evaluations if isinstance(e, PolicyEvaluation))
        _ci_report(att, status, None, "push", said)
        raise
    run_state.save(att, state)
    _pushed(result)
    if bundle_out is not None:
        echo(f"  written to {bundle_out}")
    _print_policies(result.policy_evaluations)
    _ci_report(att, status, result, "push", result.policy_evaluations)


def reset(
    *,
    trigger: str,
    reason: str | None,
    to: str | None,
    key: Path | None,
    keyless: bool,
    staging: bool,
    state: Path,
) -> None:
    """Record the run as failed or cancelled (``attest reset``)."""
    from attestlake.collect import lifecycle, run_state

    att = run_state.load(state, check_contract=True)
    signer = make_signer(att, key, keyless, staging)
    result = lifecycle.reset(att, trigger, reason, signer, _store(att, to))
    run_state.save(att, state)
    _pushed(result)
    _ci_report(att, att.status(), result, "reset")
