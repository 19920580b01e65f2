"""Keyless verification of cosign's legacy ``.att`` layers, offline, as ``cosign
verify-attestation`` checks them (``VerifyBundle`` and ``verifyInternal`` in sigstore/cosign),
against the policy's trusted root:

1. the certificate is issued by a certificate authority of the trusted root (its signature
   checked with that CA's key; the chain is the root's, not the layer's ``chain`` annotation),
   is a code-signing certificate, and it and its CA were valid when the log integrated the
   entry;
2. the signed entry timestamp (SET) is the signature, by the key of a transparency log of
   the trusted root (the one the bundle names by log id), over the canonical JSON of the entry
   ``{body, integratedTime, logIndex, logID}``;
3. the logged entry is this envelope's (:func:`~attestlake.intoto.rekor_entry.envelope_mismatch`):
   its envelope and payload hashes, signatures and certificate;
4. the envelope's signature over the DSSE PAE verifies with the certificate's key;
5. the certificate's identity is one the policy trusts, in scope, not revoked.

Every failure is its own outcome; none depends on another library's error message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from attestlake.errors import TrustPolicyError
from attestlake.intoto.cosign_att import FORMAT, CosignLayer, RekorBundle
from attestlake.intoto.rekor_entry import ENVELOPE_ENTRIES, envelope_mismatch
from attestlake.signing.keys import verify_signature
from attestlake.verify.keyless import (
    certificate_identity,
    identity_refusal,
    issued_by,
    no_identity,
    spki_id,
)
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED, Outcome, envelope_base
from attestlake.verify.root_material import CertificateAuthority, RootMaterial, root_material
from attestlake.verify.trust import TrustPolicy

Refusal = tuple[str, str]
BAD = "bad_signature"


@dataclass(frozen=True)
class _Issuer:
    """A CA of the root and the certificates of its chain from the one that issued a leaf."""

    authority: CertificateAuthority
    chain: tuple[x509.Certificate, ...]


def _issuing_authority(material: RootMaterial, cert: x509.Certificate) -> _Issuer | Refusal:
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
            return _Issuer(ca, ca.chain[i:])
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


def _chain_refusal(
    material: RootMaterial, cert: x509.Certificate, when: datetime
) -> Refusal | None:
    """Why ``cert`` is not a Fulcio certificate of the root valid at ``when``, or None."""
    found = _issuing_authority(material, cert)
    if not isinstance(found, _Issuer):
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
            f"the certificate was not valid when the log integrated the entry ({at}): valid "
            f"from {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()}"
        )
    if not found.authority.period.contains(when) or not all(
        _validity(c, when) for c in found.chain
    ):
        return BAD, f"the certificate authority {issued_by(cert)} was not valid at {at}"
    return None


def _set_refusal(material: RootMaterial, bundle: RekorBundle) -> Refusal | None:
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


def _signature_refusal(layer: CosignLayer, cert: x509.Certificate) -> Refusal | None:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        return "unsupported", f"the certificate's key type {type(key).__name__} is not supported"
    message = layer.envelope.pae()
    if any(verify_signature(key, message, s.sig) for s in layer.envelope.signatures):
        return None
    return BAD, (
        "the envelope's signature does not verify with the certificate's key (the content was "
        "changed after signing, or the signature is corrupt)"
    )


def _document_refusal(layer: CosignLayer) -> Refusal | None:
    """Why the layer cannot be verified offline whatever the policy says, or None."""
    if layer.bundle is None or layer.entry is None:
        stamp = " (it carries an RFC 3161 timestamp only)" if layer.timestamped else ""
        return "unsupported", (
            f"no Rekor bundle (dev.sigstore.cosign/bundle annotation){stamp}: cosign would look "
            "the log entry up online; keyless verification here is offline and needs the bundle"
        )
    if not layer.entry.supported:
        kinds = ", ".join("/".join(k) for k in ENVELOPE_ENTRIES)
        return "unsupported", (
            f"log entry kind {layer.entry.kind_version} is not one of an attestation ({kinds})"
        )
    return None


def _crypto_refusal(
    layer: CosignLayer, policy: TrustPolicy, cert: x509.Certificate
) -> Refusal | set[str]:
    """Steps 1 to 4 of the module doc: the refusal, or the names of the policy's trusted roots
    under which the certificate chain and the SET verify."""
    assert layer.bundle is not None and layer.entry is not None
    under: set[str] = set()
    refusals: list[Refusal] = []
    for root in policy.roots:
        try:
            material = root_material(root.source)
        except TrustPolicyError as exc:
            return "no_trust_material", str(exc)
        refusal = _chain_refusal(material, cert, layer.bundle.integrated_at)
        refusal = refusal or _set_refusal(material, layer.bundle)
        if refusal is None:
            under.add(root.name)
        else:
            refusals.append(refusal)
    if not under:
        # a root whose CA issued the certificate says more than one that did not
        return min(refusals, key=lambda r: r[0] == "untrusted_signer")
    mismatch = envelope_mismatch(layer.entry, layer.layer, layer.envelope, cert)
    if mismatch is not None:
        return BAD, f"{mismatch}: the Rekor bundle does not vouch for this attestation"
    return _signature_refusal(layer, cert) or under


def verify_cosign_layer(layer: CosignLayer, policy: TrustPolicy) -> Outcome:
    """The outcome of a keyless cosign ``.att`` layer; see ``docs/trust-policy.md``."""
    cert = layer.certificate
    assert cert is not None  # a key-signed layer is a DSSE envelope for the policy's keys
    subject, issuer = certificate_identity(cert)
    base = replace(
        envelope_base(layer.envelope, FORMAT), signer=subject, issuer=issuer, key_id=spki_id(cert)
    )
    if base.reason:  # an in-toto payload that is not a statement
        return base
    refusal: Refusal | None
    if subject is None:
        refusal = "no_trust_material", no_identity(cert)
    else:
        refusal = _document_refusal(layer)
    if refusal is None and not policy.identities:
        refusal = "no_trust_material", "the trust policy has no Sigstore identities"
    if refusal is None and subject is not None:
        checked = _crypto_refusal(layer, policy, cert)
        if isinstance(checked, tuple):
            refusal = checked
        else:
            refusal = identity_refusal(policy, cert, subject, issuer, base.statement, checked)
    if refusal is None and base.statement is None and base.link is None:
        refusal = (
            "unsupported",
            "the signature is valid but the payload is not an in-toto statement",
        )
    if refusal is not None:
        return replace(base, status=NOT_VERIFIED, reason=refusal[0], detail=refusal[1])
    return replace(base, status=VERIFIED)
