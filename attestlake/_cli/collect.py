"""Commands for CI: the collector (attest init, add, status, push, reset), as typer sees them.

Each command's options and help are declared here; its work is in :mod:`attestlake._cli.steps`,
which a collector step runs without typer (:mod:`attestlake._cli.step_args`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli import (
    publishing,  # noqa: F401  (registers contract and inventory commands)
    steps,
)
from attestlake._cli.app import DEFAULT_STATE, StateOpt, attest_app
from attestlake._cli.choices import MATERIAL_KIND, TRIGGER
from attestlake._cli.keys import KeylessOpt, KeyOpt, PolicyTrustOpt, StagingOpt

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
    steps.init(
        contract=contract,
        workflow=workflow,
        project=project,
        team=team,
        annotation=annotation,
        dry_run=dry_run,
        run_id=run_id,
        to=to,
        key=key,
        keyless=keyless,
        staging=staging,
        trust=trust,
        state=state,
    )


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
    steps.add(value=value, name=name, kind=kind, annotation=annotation, state=state)


@attest_app.command("status")
def attest_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Show what the attestation holds and what the contract still needs.

    Exits 0 when the run is ready to push (or was pushed), 3 while the contract is not
    satisfied: a required material or annotation is missing, or the runner is not allowed.
    """
    steps.status(as_json=as_json, state=state)


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
    steps.push(
        to=to,
        key=key,
        keyless=keyless,
        staging=staging,
        annotation=annotation,
        provenance=provenance,
        bundle_out=bundle_out,
        trust=trust,
        state=state,
    )


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
    steps.reset(
        trigger=trigger,
        reason=reason,
        to=to,
        key=key,
        keyless=keyless,
        staging=staging,
        state=state,
    )
