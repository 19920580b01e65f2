"""Signing on the command line: ``keys generate``, and the --key/--keyless options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli.app import keys_app
from attestlake._cli.console import echo
from attestlake.errors import InputError

KeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--key",
        envvar="ATTESTLAKE_KEY",
        help="Sign with this private key: PEM (password in ATTESTLAKE_KEY_PASSWORD) or cosign.key "
        "(password in COSIGN_PASSWORD).",
    ),
]
KeylessOpt = Annotated[
    bool,
    typer.Option(
        "--keyless",
        help="Sign with Sigstore using the CI's OIDC identity (GitHub Actions: 'id-token: "
        "write'; elsewhere SIGSTORE_ID_TOKEN); pushes Sigstore bundles.",
    ),
]
StagingOpt = Annotated[
    bool, typer.Option("--staging", help="With --keyless: use Sigstore's staging instance.")
]
PolicyTrustOpt = Annotated[
    Path | None,
    typer.Option(
        "--trust",
        envvar="ATTESTLAKE_TRUST",
        help="Trust policy that verifies the published policies (STORE#NAME[@REVISION]) the "
        "contract names: its declared_state names SecOps's store and signer.",
    ),
]


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
    from attestlake.signing.keys import generate_key

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
    echo(f"private key: {private_path} (keep it secret)\npublic key:  {public_path}")
