"""Signing on the command line: ``keys generate``, and the --key/--keyless options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from attestlake._cli.app import _echo, keys_app
from attestlake.errors import InputError

if TYPE_CHECKING:
    from attestlake.collect.record import RunRecord
    from attestlake.signing.signing import Signer
    from attestlake.verify.trust import TrustPolicy

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


def load_trust(path: Path | None) -> TrustPolicy | None:
    """The trust policy at ``path``, or None when none is given."""
    if path is None:
        return None
    from attestlake.verify.verify import load_policy

    return load_policy(path)


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
    _echo(f"private key: {private_path} (keep it secret)\npublic key:  {public_path}")


def signing_spec(key: Path | None, keyless: bool, staging: bool) -> dict[str, Any] | None:
    if key is not None and keyless:
        raise InputError("give --key or --keyless, not both")
    if keyless:
        return {"keyless": "staging" if staging else "production"}
    return {"key": str(key)} if key is not None else None


def _signer(key: Path | None, staging: bool) -> Signer:
    """The key signer of ``key``, or without one the Sigstore keyless signer (staging or not)."""
    from attestlake.signing.keys import KeySigner
    from attestlake.signing.signing import DeferredSigner, SigstoreSigner

    if key is not None:
        return KeySigner.from_env(key, os.environ)
    return DeferredSigner(lambda: SigstoreSigner.public_good(staging=staging), "sigstore keyless")


def optional_signer(key: Path | None, keyless: bool, staging: bool) -> Signer | None:
    """The signer --key or --keyless names (not both), or None when neither is given."""
    if key is not None and keyless:
        raise InputError("give --key or --keyless, not both")
    return _signer(key, staging) if key is not None or keyless else None


def make_signer(att: RunRecord, key: Path | None, keyless: bool, staging: bool) -> Signer:
    """The signer given here (--key or --keyless), else the one given to 'attest init'."""
    signing = signing_spec(key, keyless, staging) or att.signing
    if not signing:
        raise InputError("no signer: give --key PATH or --keyless (here or to 'attest init')")
    key = Path(signing["key"]) if "key" in signing else None
    return _signer(key, signing.get("keyless") == "staging")
