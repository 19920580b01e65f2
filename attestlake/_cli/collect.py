"""Commands for CI: the collector (attest init, add, status, push, reset)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from attestlake._cli import publishing  # noqa: F401  (registers contract and inventory commands)
from attestlake._cli.app import DEFAULT_STATE, StateOpt, _echo, _kv, attest_app
from attestlake._cli.choices import MATERIAL_KIND, TRIGGER
from attestlake._cli.keys import (
    KeylessOpt,
    KeyOpt,
    PolicyTrustOpt,
    StagingOpt,
    load_trust,
    make_signer,
    signing_spec,
)
from attestlake.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from attestlake.collect.policy_outcome import PolicyEvaluation, PolicyEvaluator
    from attestlake.collect.push import PushResult
    from attestlake.collect.record import RunRecord, Status
    from attestlake.contracts.model import Contract
    from attestlake.store import Store

AnnotationOpt = Annotated[
    list[str] | None, typer.Option("--annotation", "-a", help="Run annotation KEY=VALUE.")
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        envvar="ATTESTLAKE_STORE",
        help="Store: oci:DIR, a directory or HOST[:PORT]/REPO (default: the one given to init).",
    ),
]


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
            _echo(line)


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
        _echo(f"  policy {e.name} ({gate}): {e.status}{count}{note}")
        if e.status == VIOLATED and not e.gate:
            for line in e.sentences():
                _contract_warning(f"{line} (recorded; the policy does not gate)")


def _contract_warning(warning: str) -> None:
    from attestlake.collect.ci_summary import in_github_actions, warning_annotation

    _echo(f"warning: {warning}", err=True)
    if in_github_actions():
        _echo(warning_annotation(warning))


def _print_status(att: RunRecord, status: Status) -> None:
    from attestlake.collect.ci_summary import explain_missing

    _echo(f"contract {status.contract} revision {status.revision}; runner {status.runner_type}")
    _echo(f"  present: {', '.join(status.present) or 'none'}")
    if status.optional_missing:
        _echo(f"  optional, not added: {', '.join(status.optional_missing)}")
    for group, met in status.groups:
        members = ", ".join(m.name for m in group.members)
        state = f"met by {', '.join(met)}" if met else "unmet: add one of them"
        _echo(f"  group {group.name} (at least one of {members}): {state}")
    if status.complete and status.runner_allowed:
        _echo("  ready to push")
    else:
        _echo(f"  missing: {', '.join(status.missing()) or 'nothing'}")
        for line in explain_missing(att, status):
            _echo(f"    - {line}")


def _policy_check(trust: Path | None) -> Callable[[Contract, Path | None], None]:
    """What ``attest init`` checks the contract's policies with (under ``trust``): each read,
    its parameters checked, and run once on an empty lake."""

    def check(contract: Contract, base: Path | None) -> None:
        from attestlake.audit.push_policies import check_policies

        check_policies(contract, base, load_trust(trust) if contract.policies else None)

    return check


def _print_started(att: RunRecord, started: PushResult | None, to: str | None) -> None:
    _echo(
        f"attestation {att.run_id} started: workflow {att.workflow}, project {att.project}, "
        f"contract {att.contract.name} revision {att.contract.revision}, runner {att.runner.type}"
        + (" (dry run)" if att.dry_run else "")
    )
    if started is not None:
        _echo(f"  start recorded: {started.store}:{started.tag}")
    elif to:
        _echo("  start not recorded (no --key or --keyless)")
    _print_status(att, att.status())


def _pushed(result: PushResult) -> None:
    verb = "already pushed" if result.already_pushed else "pushed"
    _echo(f"{verb} {result.store}:{result.tag}")
    _echo(f"  manifest {result.manifest_digest}\n  envelope {result.envelope_digest}")
    if result.provenance_digest:
        _echo(f"  provenance {result.provenance_digest}")
    if result.signer:
        _echo(f"  signed by {result.signer}")
    for ref in result.referrers:
        _echo(f"  attached to {ref}")


# -- collector ---------------------------------------------------------------------------------
@attest_app.command("init")
def attest_init(
    contract: Annotated[
        str,
        typer.Option(
            "--contract",
            help="Contract: a YAML file, or a published one: STORE#NAME (latest), "
            "STORE#NAME@REVISION or STORE#NAME@sha256:<hex>.",
        ),
    ],
    workflow: Annotated[str, typer.Option("--workflow", help="Workflow name.")],
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    team: Annotated[str | None, typer.Option("--team", help="Owning team.")] = None,
    annotation: AnnotationOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Do not enforce the contract's runner type (try it locally)."
        ),
    ] = False,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Run id (default: derived from the CI job, else random)."),
    ] = None,
    to: StoreOpt = None,
    key: KeyOpt = None,
    keyless: KeylessOpt = False,
    staging: StagingOpt = False,
    trust: PolicyTrustOpt = None,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Start an attestation for this workflow run (discovers the CI runner).

    With --to and a signer (--key or --keyless) the start is recorded in the store
    (run-<id>-started), and both become the defaults of push and reset.
    """
    from attestlake.collect.begin import begin_run

    begun = begin_run(
        contract,
        workflow=workflow,
        project=project,
        team=team,
        env=os.environ,
        dry_run=dry_run,
        run_id=run_id,
        annotations=_kv(annotation, "--annotation"),
        store=to,
        signing=signing_spec(key, keyless, staging),
        signer=lambda att: make_signer(att, None, False, False),
        state=state,
        on_warning=_contract_warning,
        check_policies=_policy_check(trust),
    )
    _print_started(begun.record, begun.started, to)


@attest_app.command("add")
def attest_add(
    value: Annotated[str, typer.Option("--value", help="File path, image reference or string.")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Material name from the contract (default: detect the kind)."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="Material kind instead of detecting it: STRING records the value as text "
            "whatever it looks like; any kind adds a material the contract does not name.",
            callback=MATERIAL_KIND,
        ),
    ] = None,
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="Material annotation KEY=VALUE.")
    ] = None,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Add a material to the attestation; it is validated by kind.

    Without --name the kind is detected (SBOMs, SARIF, OpenVEX, JUnit, provenance, images,
    files, strings) and the value fills the contract's one material of that kind. An image
    given by tag is resolved to its digest through the registry. A value that looks like a
    path (a separator, a file name ending) but is no readable file, a directory, or an image
    that cannot be resolved is refused (exit 1) and nothing is added; --kind STRING says the
    text itself is meant.
    """
    from attestlake.collect import run_state
    from attestlake.store import open_store
    from attestlake.store.images import resolve_image

    att = run_state.load(state)
    store = open_store(att.store) if att.store else None
    material = att.add(
        name,
        value,
        kind=kind,
        annotations=_kv(annotation, "--annotation"),
        resolve_image=lambda ref: resolve_image(ref, store),
    )
    run_state.save(att, state)
    _echo(f"added {material.name} ({material.kind}) {material.digest or material.value}")


@attest_app.command("status")
def attest_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Show what the attestation holds and what the contract still needs.

    Exits 0 when the run is ready to push (or was pushed), 3 while the contract is not
    satisfied: a required material or annotation is missing, or the runner is not allowed.
    """
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
        _echo(json.dumps(body, indent=2))
    else:
        _echo(f"attestation {att.run_id}: workflow {att.workflow}, project {att.project}")
        _print_status(att, status)
    if not ready:
        if not as_json:  # GitHub's annotations go to stdout: the JSON stays JSON
            _ci_report(att, status, None, "status")
        raise typer.Exit(3)


@attest_app.command("push")
def attest_push(
    to: StoreOpt = None,
    key: KeyOpt = None,
    keyless: KeylessOpt = False,
    staging: StagingOpt = False,
    annotation: AnnotationOpt = None,
    provenance: Annotated[
        bool,
        typer.Option(
            "--provenance/--no-provenance",
            help="Also sign and push SLSA provenance v1 for the outputs, as a second envelope "
            "of the same record (the default; --no-provenance skips it).",
        ),
    ] = True,
    bundle_out: Annotated[
        Path | None,
        typer.Option(
            "--bundle-out",
            help="Also write the signed run statement here (and the provenance beside it, "
            "NAME.provenance.EXT), checkable with 'attestlake verify'.",
        ),
    ] = None,
    trust: PolicyTrustOpt = None,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Sign the attestation and push it with its evidence; refuses if the contract is unmet.

    The policies the contract names are evaluated on the run first and recorded in the signed
    statement; a violated gating policy refuses the push (exit 3, nothing signed or pushed),
    a violated policy that does not gate is a warning.
    """
    from attestlake.collect import lifecycle, run_state
    from attestlake.errors import PolicyViolated

    att = run_state.load(state)
    for k, v in _kv(annotation, "--annotation").items():
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
        _echo(f"  written to {bundle_out}")
    _print_policies(result.policy_evaluations)
    _ci_report(att, status, result, "push", result.policy_evaluations)


@attest_app.command("reset")
def attest_reset(
    trigger: Annotated[
        str,
        typer.Option(
            "--trigger", help="Why the run ended: failure or cancellation.", callback=TRIGGER
        ),
    ] = "failure",
    reason: Annotated[
        str | None, typer.Option("--reason", help="What happened, recorded as run.reason.")
    ] = None,
    to: StoreOpt = None,
    key: KeyOpt = None,
    keyless: KeylessOpt = False,
    staging: StagingOpt = False,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Record the run as failed or cancelled in the store (run-<id>-failure/-cancellation).

    A failed or cancelled job runs it in place of push; once the run was pushed as a success
    it is refused (exit 1), and the same reset again changes nothing.
    """
    from attestlake.collect import lifecycle, run_state

    att = run_state.load(state)
    signer = make_signer(att, key, keyless, staging)
    result = lifecycle.reset(att, trigger, reason, signer, _store(att, to))
    run_state.save(att, state)
    _pushed(result)
    _ci_report(att, att.status(), result, "reset")
