"""SecOps's signer for tests that publish contracts and inventories: a key pair, and the
trust-policy section that takes declared state from one store signed with it."""

from __future__ import annotations

from pathlib import Path

from attestlake.signing.keys import KeySigner, generate_key


def secops(directory: Path, store: str) -> tuple[KeySigner, str]:
    """Write ``directory/secops.key`` and ``secops.pub``; return the signer and the
    ``declared_state`` section (YAML) trusting ``store`` (a reference as the policy file in
    ``directory`` would name it) and that key."""
    private, public = generate_key()
    (directory / "secops.key").write_bytes(private)
    (directory / "secops.pub").write_bytes(public)
    section = f"declared_state:\n  stores: ['{store}']\n  keys: [secops.pub]\n"
    return KeySigner.from_file(directory / "secops.key"), section
