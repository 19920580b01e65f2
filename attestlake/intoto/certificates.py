"""X.509 certificates read from untrusted documents."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from attestlake.errors import ContentError


def with_readable_names(cert: x509.Certificate, what: str) -> x509.Certificate:
    """``cert``, once its issuer and subject names are read: cryptography parses them only
    when first asked, so a certificate whose names are not valid DER loads and raises later,
    in the middle of verification. ContentError when they are not."""
    try:
        _ = cert.issuer, cert.subject
    except ValueError as exc:
        raise ContentError(f"{what}: its issuer or subject name is not valid: {exc}") from None
    return cert


def spki_id(cert: x509.Certificate) -> str | None:
    """``sha256:`` and the hex sha256 of the certificate's public key (its DER
    SubjectPublicKeyInfo); None when the key cannot be read."""
    try:
        der = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, UnsupportedAlgorithm):
        return None
    return "sha256:" + hashlib.sha256(der).hexdigest()
