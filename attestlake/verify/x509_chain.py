"""The certificate chain of an X.509 signer: from the signing certificate, through the
intermediates the envelope carries or the policy supplies, to a CA root of the trust policy,
every certificate valid at the time the signature is trusted to have been made.

The chain is verified by ``cryptography``'s X.509 path validation (RFC 5280 with the web PKI's
algorithm rules: RSA of 2048 bits or more, or ECDSA P-256/P-384/P-521, with SHA-256/384/512),
with the time given and, unless the root says ``extended_key_usage: any``, the ``codeSigning``
usage on the leaf (and on any CA that restricts its usages). When it does not verify, the reason
is found by walking the chain by issuer names here, never from the library's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from attestlake.intoto.dsse import MAX_INTERMEDIATES
from attestlake.verify.x509_trust import CertificateRoot

Refusal = tuple[str, str]
BAD = "bad_signature"
#: Leaf, intermediates (the envelope's and the policy's), root.
MAX_DEPTH = 2 * MAX_INTERMEDIATES + 2


@dataclass(frozen=True)
class Chained:
    """A signing certificate verified to a root of the policy, at ``at``."""

    root: CertificateRoot
    at: datetime
    chain: tuple[x509.Certificate, ...]


def name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(an empty subject)"


def _code_signing(usage: x509.ExtendedKeyUsage) -> bool:
    return ExtendedKeyUsageOID.CODE_SIGNING in usage


def _leaf_usage(policy: Policy, cert: x509.Certificate, usage: x509.ExtendedKeyUsage) -> None:
    if not _code_signing(usage):
        raise ValueError("the leaf is not a code-signing certificate")


def _ca_usage(policy: Policy, cert: x509.Certificate, usage: x509.ExtendedKeyUsage | None) -> None:
    if usage is not None and not (
        _code_signing(usage) or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage
    ):
        raise ValueError("a CA of the chain may not certify code signing")


def _policies(any_usage: bool) -> tuple[ExtensionPolicy, ExtensionPolicy]:
    """The CA and leaf extension policies: the web PKI's, with any usage or code signing in
    place of TLS client authentication, and the leaf's SAN optional (witness constraints
    may name a common name only)."""
    leaf = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    ca = ExtensionPolicy.webpki_defaults_ca()
    if any_usage:
        leaf = leaf.may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
        ca = ca.may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
    else:
        leaf = leaf.require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _leaf_usage)
        ca = ca.may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _ca_usage)
    return ca, leaf


def _verified(
    root: CertificateRoot, leaf: x509.Certificate, pool: list[x509.Certificate], at: datetime
) -> tuple[x509.Certificate, ...] | None:
    ca, ee = _policies(root.any_usage)
    verifier = (
        PolicyBuilder()
        .store(Store([root.certificate]))
        .time(at)
        .max_chain_depth(MAX_DEPTH)
        .extension_policies(ca_policy=ca, ee_policy=ee)
        .build_client_verifier()
    )
    try:
        return tuple(verifier.verify(leaf, pool).chain)
    except VerificationError:
        return None


def verify_chain(
    leaf: x509.Certificate,
    carried: tuple[x509.Certificate, ...],
    roots: tuple[CertificateRoot, ...],
    times: list[datetime],
    when: str,
) -> Chained | Refusal:
    """The first root and time (of ``times``: trusted timestamps, or now) under which
    ``leaf`` chains to a root of the policy; or why it does not (``when`` says what the times
    are, for the detail)."""
    for root in roots:
        pool = [*carried, *root.intermediates]
        for at in times:
            chain = _verified(root, leaf, pool, at)
            if chain is not None:
                return Chained(root, at, chain)
    return _refusal(leaf, carried, roots, times, when)


def _path(
    leaf: x509.Certificate, pool: list[x509.Certificate], roots: tuple[CertificateRoot, ...]
) -> tuple[list[x509.Certificate], CertificateRoot] | None:
    """The certificates from ``leaf`` to a root of the policy by issuer names (the leaf and
    its intermediates, then the root), or None."""
    path, current = [leaf], leaf
    for _ in range(MAX_DEPTH):
        root = next((r for r in roots if r.certificate.subject == current.issuer), None)
        if root is not None:
            return path, root
        current_ = next((c for c in pool if c.subject == current.issuer and c not in path), None)
        if current_ is None:
            return None
        path.append(current_)
        current = current_
    return None


def _refusal(
    leaf: x509.Certificate,
    carried: tuple[x509.Certificate, ...],
    roots: tuple[CertificateRoot, ...],
    times: list[datetime],
    when: str,
) -> Refusal:
    pool = [*carried, *(c for r in roots for c in r.intermediates)]
    found = _path(leaf, pool, roots)
    if found is None:
        return "untrusted_signer", (
            f"the certificate {name(leaf)} is issued by {leaf.issuer.rfc4514_string()}, and no "
            "certificate of the envelope or the trust policy leads from it to an x509 root of "
            "the policy (another CA, or an intermediate missing)"
        )
    path, root = found
    for cert, issuer in zip(path, [*path[1:], root.certificate], strict=True):
        try:
            cert.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
            return BAD, (
                f"the certificate {name(cert)} names {name(issuer)} as its issuer, but its "
                "signature does not verify with that CA's key (a forged or corrupt certificate)"
            )
    for cert in (*path, root.certificate):
        valid = [t for t in times if cert.not_valid_before_utc <= t <= cert.not_valid_after_utc]
        if not valid:
            return BAD, (
                f"the certificate {name(cert)} was not valid {when}: valid from "
                f"{cert.not_valid_before_utc.isoformat()} to {cert.not_valid_after_utc.isoformat()}"
            )
    return BAD, _unfit(leaf, root)


def _unfit(leaf: x509.Certificate, root: CertificateRoot) -> str:
    """Why a chain whose names, signatures and dates hold is still refused."""
    try:
        usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        code_signing = _code_signing(usage)
    except (x509.ExtensionNotFound, ValueError):
        code_signing = False
    if not root.any_usage and not code_signing:
        return (
            f"the certificate {name(leaf)} is not a code-signing certificate (no codeSigning "
            f"extended key usage), which the x509 root {root.name} requires"
        )
    return (
        f"the certificate chain from {name(leaf)} to the x509 root {root.label} does not hold "
        "as a certificate path: a CA without the CA basic constraint or keyCertSign usage, a "
        "path length or name constraint exceeded, an extension in the wrong place, or a key or "
        "signature algorithm outside RSA (2048 bits or more) and ECDSA"
    )
