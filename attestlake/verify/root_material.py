"""What a Sigstore trusted root pins, as attestlake checks it itself: the Fulcio certificate
authorities (each a certificate chain with a validity period) and the Rekor transparency logs
(each a public key, known by its log id, with a validity period).

sigstore-python verifies Sigstore bundles with the same root (:mod:`attestlake.verify.keyless`);
the formats it does not read (cosign's legacy ``.att`` layers, :mod:`attestlake.verify.cosign_att`)
are checked against this material. The root is loaded once per process and root.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig
from sigstore_models.common.v1 import TimeRange
from sigstore_models.trustroot.v1 import TrustedRoot

from attestlake.errors import TrustPolicyError
from attestlake.signing.keys import PublicKey
from attestlake.verify.trust import PUBLIC_GOOD


@dataclass(frozen=True)
class Period:
    """When a CA or log of the root may be used: from ``start`` to ``end`` (None: still)."""

    start: datetime | None
    end: datetime | None

    def contains(self, when: datetime) -> bool:
        return (self.start is None or self.start <= when) and (self.end is None or when <= self.end)


@dataclass(frozen=True)
class CertificateAuthority:
    """A Fulcio CA: its chain, the issuing certificate first and the root last."""

    chain: tuple[x509.Certificate, ...]
    period: Period


@dataclass(frozen=True)
class TransparencyLog:
    log_id: bytes
    key: PublicKey
    period: Period
    url: str


@dataclass(frozen=True)
class RootMaterial:
    name: str
    authorities: tuple[CertificateAuthority, ...]
    logs: tuple[TransparencyLog, ...]

    def log(self, log_id: bytes) -> TransparencyLog | None:
        return next((log for log in self.logs if log.log_id == log_id), None)

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return tuple(cert for ca in self.authorities for cert in ca.chain)


def _period(valid_for: TimeRange | None) -> Period:
    if valid_for is None:
        return Period(None, None)
    return Period(valid_for.start, valid_for.end)


def _log_key(der: bytes, url: str) -> PublicKey:
    key = serialization.load_der_public_key(der)
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise ValueError(f"Rekor log {url}: unsupported key type {type(key).__name__}")
    return key


def _trusted_root(root: str) -> TrustedRoot:
    if root != PUBLIC_GOOD:
        return TrustedRoot.from_json(Path(root).read_text(encoding="utf-8"))
    tuf_log = logging.getLogger("sigstore._internal.tuf")
    level = tuf_log.level
    tuf_log.setLevel(logging.ERROR)  # not "loaded in offline mode" on every run
    try:
        # The embedded root's model: sigstore-python keeps it as its ``_inner`` record.
        inner: TrustedRoot = ClientTrustConfig.production(offline=True).trusted_root._inner
    finally:
        tuf_log.setLevel(level)
    return inner


@functools.lru_cache(maxsize=8)
def root_material(root: str) -> RootMaterial:
    """The CAs and logs of ``root`` (``sigstore-public-good`` or a trusted_root.json path)."""
    try:
        trusted = _trusted_root(root)
        authorities = tuple(
            CertificateAuthority(
                tuple(
                    x509.load_der_x509_certificate(c.raw_bytes) for c in ca.cert_chain.certificates
                ),
                _period(ca.valid_for),
            )
            for ca in trusted.certificate_authorities
        )
        logs = tuple(
            TransparencyLog(
                bytes(log.log_id.key_id),
                _log_key(log.public_key.raw_bytes or b"", log.base_url),
                _period(log.public_key.valid_for),
                log.base_url,
            )
            for log in trusted.tlogs
        )
    except (SigstoreError, OSError, ValueError, UnsupportedAlgorithm) as exc:
        raise TrustPolicyError(f"trusted root {root}: cannot be loaded: {exc}") from None
    return RootMaterial(root, authorities, logs)
