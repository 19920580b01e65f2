"""Choosing a signer and a trust policy from the command line's options, without typer: the
collector's steps (:mod:`attestlake._cli.steps`) and the publishing commands share them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attestlake.errors import InputError

if TYPE_CHECKING:
    from attestlake.collect.record import RunRecord
    from attestlake.signing.signing import Signer
    from attestlake.verify.trust import TrustPolicy

__all__ = ["load_trust", "make_signer", "optional_signer", "signing_spec"]


def load_trust(path: Path | None) -> TrustPolicy | None:
    """The trust policy at ``path``, or None when none is given."""
    if path is None:
        return None
    from attestlake.verify.verify import load_policy

    return load_policy(path)


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
