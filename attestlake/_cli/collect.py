"""Commands for SecOps and CI: contracts, keys and the collector (attest)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from attestlake._cli.app import (
    DEFAULT_STATE,
    StateOpt,
    _echo,
    _kv,
    attest_app,
    contract_app,
    keys_app,
)
from attestlake.errors import InputError


# -- contracts ---------------------------------------------------------------------------------
@contract_app.command("lint")
def contract_lint(
    files: Annotated[list[Path], typer.Argument(help="Contract YAML files.")],
) -> None:
    """Check contract files; print OK or the field and line that is wrong."""
    from attestlake.contracts import load_contract

    for f in files:
        c = load_contract(f)
        _echo(
            f"OK {f}: contract {c.name} revision {c.revision}, {len(c.materials)} materials, "
            f"digest {c.digest}"
        )


# -- keys --------------------------------------------------------------------------------------
@keys_app.command("generate")
def keys_generate(
    out: Annotated[
        Path, typer.Option("--out", help="Path prefix: writes PREFIX.key and PREFIX.pub.")
    ] = Path("attestlake"),
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            help="Encrypt the private key with the password in this environment variable.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Generate an ECDSA P-256 signing key pair (PKCS#8 private key, SPKI public key)."""
    from attestlake.keys import generate_key

    password = None
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise InputError(f"environment variable {password_env} is not set or empty")
        password = value.encode()
    private_path, public_path = Path(f"{out}.key"), Path(f"{out}.pub")
    for p in (private_path, public_path):
        if p.exists() and not force:
            raise InputError(f"{p} exists; use --force to overwrite it")
    private, public = generate_key(password)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    public_path.write_bytes(public)
    _echo(f"private key: {private_path} (keep it secret)\npublic key:  {public_path}")


# -- collector ---------------------------------------------------------------------------------
@attest_app.command("init")
def attest_init(
    contract: Annotated[Path, typer.Option("--contract", help="The contract YAML file.")],
    workflow: Annotated[str, typer.Option("--workflow", help="Workflow name.")],
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    team: Annotated[str | None, typer.Option("--team", help="Owning team.")] = None,
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="Run annotation KEY=VALUE.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Do not enforce the contract's runner type.")
    ] = False,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Start an attestation for this workflow run (discovers the CI runner)."""
    from attestlake.collector import Attestation
    from attestlake.contracts import load_contract

    att = Attestation.init(
        load_contract(contract),
        workflow=workflow,
        project=project,
        team=team,
        env=os.environ,
        dry_run=dry_run,
        annotations=_kv(annotation, "--annotation"),
    )
    att.save(state)
    _echo(
        f"attestation {att.run_id} started: workflow {workflow}, project {project}, "
        f"contract {att.contract.name} revision {att.contract.revision}, runner {att.runner.type}"
    )
    _print_status(att.status())


@attest_app.command("add")
def attest_add(
    value: Annotated[str, typer.Option("--value", help="File path, image reference or string.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Material name from the contract.")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Material kind, for a material the contract does not name."),
    ] = None,
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="Material annotation KEY=VALUE.")
    ] = None,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Add a material to the attestation; it is validated by kind."""
    from attestlake.collector import Attestation

    att = Attestation.load(state)
    material = att.add(name, value, kind=kind, annotations=_kv(annotation, "--annotation"))
    att.save(state)
    _echo(f"added {material.name} ({material.kind}) {material.digest or material.value}")


def _print_status(status: Any) -> None:
    _echo(f"contract {status.contract} revision {status.revision}; runner {status.runner_type}")
    _echo(f"  present: {', '.join(status.present) or 'none'}")
    if status.optional_missing:
        _echo(f"  optional, not added: {', '.join(status.optional_missing)}")
    if status.complete:
        _echo("  ready to push")
    else:
        _echo(f"  missing: {', '.join(status.missing())}")


@attest_app.command("status")
def attest_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Show what the attestation holds and what the contract still needs."""
    from attestlake.collector import Attestation

    att = Attestation.load(state)
    status = att.status()
    if as_json:
        _echo(
            json.dumps(
                {
                    "runId": att.run_id,
                    "contract": status.contract,
                    "revision": status.revision,
                    "runner": status.runner_type,
                    "present": list(status.present),
                    "missing": status.missing(),
                    "complete": status.complete,
                },
                indent=2,
            )
        )
    else:
        _echo(f"attestation {att.run_id}: workflow {att.workflow}, project {att.project}")
        _print_status(status)


@attest_app.command("push")
def attest_push(
    key: Annotated[Path, typer.Option("--key", help="Private key (PEM) to sign with.")],
    to: Annotated[
        str, typer.Option("--to", help="Store: an OCI layout directory or HOST[:PORT]/REPO.")
    ],
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="Run annotation KEY=VALUE.")
    ] = None,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Sign the attestation and push it with its evidence; refuses if the contract is unmet.

    The key's password, if any, is read from ATTESTLAKE_KEY_PASSWORD.
    """
    from attestlake.collector import Attestation
    from attestlake.keys import KeySigner
    from attestlake.store import open_store

    att = Attestation.load(state)
    for k, v in _kv(annotation, "--annotation").items():
        att.annotate(k, v)
    password = os.environ.get("ATTESTLAKE_KEY_PASSWORD")
    signer = KeySigner.from_file(key, password.encode() if password else None)
    result = att.push(signer, open_store(to))
    att.save(state)
    verb = "already pushed" if result.already_pushed else "pushed"
    _echo(f"{verb} {result.store}:{result.tag}")
    _echo(f"  manifest {result.manifest_digest}\n  envelope {result.envelope_digest}")
