"""The private sigstore-python APIs attestlake uses, all here, so that an upgrade of
sigstore-python that changes them breaks one module (and the tests of the legacy log entries
that use it, :mod:`attestlake.verify.legacy_entry`).

sigstore-python checks these for the log entry kinds it verifies itself; for the kinds it
rejects, attestlake calls the same checks on the parsed bundle: the Merkle inclusion proof of
the entry and the log's signature over its checkpoint (``sigstore._internal.merkle``,
``sigstore._internal.rekor.checkpoint``), the RFC 3161 timestamps against the root's timestamp
authorities (``Verifier._verify_timestamp_authority``), the certificate's SCT against the
root's CT logs (``sigstore._internal.sct``), and the log entry's fields as the bundle holds
them (``TransparencyLogEntry._inner``). Every function returns a refusal detail or a value;
none lets the library's exceptions out, and no outcome depends on their wording.
"""

from __future__ import annotations

import base64
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from sigstore._internal.merkle import verify_merkle_inclusion
from sigstore._internal.rekor.checkpoint import verify_checkpoint
from sigstore._internal.sct import verify_sct
from sigstore._internal.trust import KeyringPurpose
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier

from attestlake.intoto.cosign_att import RekorBundle

#: What sigstore-python's checks raise on hostile input besides its own errors.
_FAILED = (SigstoreError, ValueError, TypeError, KeyError, IndexError, InvalidSignature)


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def inclusion_refusal(root: TrustedRoot, bundle: Bundle) -> str | None:
    """Why the entry's Merkle inclusion proof (RFC 6962) or the signature of a log of
    ``root`` over the proof's checkpoint does not verify, or None."""
    entry = bundle.log_entry
    try:
        verify_merkle_inclusion(entry)
    except _FAILED as exc:
        return f"the inclusion proof does not lead to its root hash: {_first_line(exc)}"
    try:
        verify_checkpoint(root.rekor_keyring(KeyringPurpose.VERIFY), entry)
    except _FAILED as exc:
        return (
            "the checkpoint of the inclusion proof is not signed by a log of the trusted root, "
            f"or is of another tree: {_first_line(exc)}"
        )
    return None


def timestamp_times(verifier: Verifier, bundle: Bundle) -> list[datetime] | str:
    """The times of the bundle's RFC 3161 timestamps that a timestamp authority of the
    verifier's root signed (over the envelope's signature), or why they cannot be counted."""
    try:
        results = verifier._verify_timestamp_authority(bundle)
    except _FAILED as exc:
        return f"the RFC 3161 timestamps are not acceptable: {_first_line(exc)}"
    return [result.time for result in results]


def sct_refusal(
    root: TrustedRoot, cert: x509.Certificate, chain: tuple[x509.Certificate, ...]
) -> str | None:
    """Why the certificate's SCT is not signed by a CT log of ``root``, or None."""
    try:
        verify_sct(cert, list(chain), root.ct_keyring(KeyringPurpose.VERIFY))
    except (*_FAILED, UnsupportedAlgorithm, x509.ExtensionNotFound) as exc:
        return f"the certificate's SCT is not one of a CT log of the trusted root: {exc}"
    return None


def canonicalized_body(bundle: Bundle) -> bytes:
    """The log entry's body, as the log hashed it into its tree."""
    return bytes(bundle.log_entry._inner.canonicalized_body)


def inclusion_promise(bundle: Bundle) -> RekorBundle | None:
    """The entry's signed entry timestamp (SET) and what it signs, None without one."""
    inner = bundle.log_entry._inner
    promise = inner.inclusion_promise
    if promise is None or not inner.integrated_time:
        return None
    return RekorBundle(
        bytes(promise.signed_entry_timestamp),
        base64.b64encode(bytes(inner.canonicalized_body)).decode(),
        int(inner.integrated_time),
        int(inner.log_index),
        bytes(inner.log_id.key_id),
    )
