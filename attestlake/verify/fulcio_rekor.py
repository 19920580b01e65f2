"""What a Fulcio certificate and a Rekor signed entry timestamp prove, checked by attestlake
itself against the material of a trusted root (:mod:`attestlake.verify.root_material`): the
certificate's chain to a CA of the root and its validity at a time, the SET's signature by a
log of the root, and an envelope's signature with the certificate's key. Shared by the formats
sigstore-python does not verify (cosign's legacy ``.att`` layers, legacy Rekor entries in
Sigstore bundles). Each check returns a refusal ``(reason, detail)``, or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from attestlake.intoto.cosign_att import RekorBundle
from attestlake.intoto.dsse import Envelope
from attestlake.signing.keys import verify_signature
from attestlake.verify.root_material import CertificateAuthority, RootMaterial

Refusal = tuple[str, str]
BAD = "bad_signature"


def issued_by(cert: x509.Certificate) -> str:
    return cert.issuer.rfc4514_string() or "an unnamed issuer"


@dataclass(frozen=True)
class Issuer:
    """A CA of the root and the certificates of its chain from the one that issued a leaf."""

    authority: CertificateAuthority
    chain: tuple[x509.Certificate, ...]


def issuing_authority(material: RootMaterial, cert: x509.Certificate) -> Issuer | Refusal:
    """The CA of the root whose certificate signed ``cert``, or why there is none."""
    named = False
    for ca in material.authorities:
        for i, issuer in enumerate(ca.chain):
            if issuer.subject != cert.issuer:
                continue
            named = True
            try:
                cert.verify_directly_issued_by(issuer)
            except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
                continue
            return Issuer(ca, ca.chain[i:])
    if named:
        return BAD, (
            f"the certificate names {issued_by(cert)}, a certificate authority of the trusted "
            "root, as its issuer, but its signature does not verify with that CA's key (a "
            "forged or corrupt certificate)"
        )
    return "untrusted_signer", (
        f"the certificate is issued by {issued_by(cert)}, which is not a certificate authority "
        f"of the trusted root ({material.name})"
    )


def _validity(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def chain_refusal(
    material: RootMaterial,
    cert: x509.Certificate,
    when: datetime,
    event: str = "when the log integrated the entry",
) -> Refusal | None:
    """Why ``cert`` is not a Fulcio certificate of the root valid at ``when`` (the time of
    ``event``), or None."""
    found = issuing_authority(material, cert)
    if not isinstance(found, Issuer):
        return found
    at = when.isoformat()
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        code_signing = ExtendedKeyUsageOID.CODE_SIGNING in usage
    except (x509.ExtensionNotFound, ValueError):
        code_signing = False
    if not code_signing:
        return BAD, "the certificate is not a code-signing certificate"
    if not _validity(cert, when):
        return BAD, (
            f"the certificate was not valid {event} ({at}): valid "
            f"from {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()}"
        )
    if not found.authority.period.contains(when) or not all(
        _validity(c, when) for c in found.chain
    ):
        return BAD, f"the certificate authority {issued_by(cert)} was not valid at {at}"
    return None


def set_refusal(material: RootMaterial, bundle: RekorBundle) -> Refusal | None:
    """Why the bundle's signed entry timestamp is not one of a log of the root, or None."""
    log = material.log(bundle.log_id)
    if log is None:
        return BAD, (
            f"the Rekor bundle names log {bundle.log_id.hex()}, which is not a transparency log "
            f"of the trusted root ({material.name})"
        )
    if not verify_signature(log.key, bundle.signed_payload(), bundle.signed_entry_timestamp):
        return BAD, (
            f"the signed entry timestamp does not verify with the key of log {log.url} (the "
            "entry was changed after it was logged, or the SET was signed by another key)"
        )
    if not log.period.contains(bundle.integrated_at):
        return BAD, f"the key of log {log.url} was not valid at {bundle.integrated_at}"
    return None


def signature_refusal(envelope: Envelope, cert: x509.Certificate) -> Refusal | None:
    """Why no signature of ``envelope`` over its DSSE PAE verifies with the certificate's
    key, or None."""
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        return "unsupported", f"the certificate's key type {type(key).__name__} is not supported"
    message = envelope.pae()
    if any(verify_signature(key, message, s.sig) for s in envelope.signatures):
        return None
    return BAD, (
        "the envelope's signature does not verify with the certificate's key (the content was "
        "changed after signing, or the signature is corrupt)"
    )
