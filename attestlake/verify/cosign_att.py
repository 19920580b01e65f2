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

from dataclasses import replace

from cryptography import x509

from attestlake.errors import TrustPolicyError
from attestlake.intoto.certificates import spki_id
from attestlake.intoto.cosign_att import FORMAT, CosignLayer
from attestlake.intoto.rekor_entry import ENVELOPE_ENTRIES, envelope_mismatch
from attestlake.verify.fulcio_rekor import (
    BAD,
    Refusal,
    chain_refusal,
    set_refusal,
    signature_refusal,
)
from attestlake.verify.keyless import (
    certificate_identity,
    identity_refusal,
    no_identity,
)
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED, Outcome, envelope_base
from attestlake.verify.root_material import root_material
from attestlake.verify.trust import TrustPolicy


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
        refusal = chain_refusal(material, cert, layer.bundle.integrated_at)
        refusal = refusal or set_refusal(material, layer.bundle)
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
    return signature_refusal(layer.envelope, cert) or under


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
