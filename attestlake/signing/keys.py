"""Signing keys: generate, load, sign DSSE envelopes and verify their signatures.

Private keys are PKCS#8 PEM (optionally encrypted with a password from
``ATTESTLAKE_KEY_PASSWORD``) or cosign's encrypted key file (``cosign.key``, password from
``COSIGN_PASSWORD`` or ``ATTESTLAKE_KEY_PASSWORD``: see :mod:`attestlake.signing.cosign_key`); public
keys are SPKI PEM (the ``cosign.pub`` format). Signing uses ECDSA P-256 with
SHA-256 (DER signatures) by default; ed25519 and RSA keys sign too. Verification accepts ECDSA
signatures in DER and raw r||s (P1363) form, ed25519, and RSA (PKCS#1 v1.5 and PSS).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from attestlake._internal._files import read_input
from attestlake.errors import KeyError_
from attestlake.intoto.canonical import encode_canonical
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, INTOTO_PAYLOAD_TYPE, Envelope, Signature
from attestlake.signing.cosign_key import decrypt_cosign_key, is_cosign_key, password_from_env
from attestlake.signing.signing import SignedStatement, Signer

PrivateKey = Union[ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey]  # noqa: UP007
PublicKey = Union[ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, rsa.RSAPublicKey]  # noqa: UP007
MAX_KEY_FILE = 64 * 1024


def key_id(public_key: PublicKey) -> str:
    """``sha256:<hex>`` of the SPKI DER encoding: a stable id for a public key."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


_SSLIB_ECDSA = {"secp256r1": "nistp256", "secp384r1": "nistp384", "secp521r1": "nistp521"}


def securesystemslib_keyid(public_key: PublicKey) -> str | None:
    """The id that securesystemslib (and so in-toto 3) gives ``public_key`` by default: the
    sha256 hex of the canonical JSON of its keytype, scheme and public value. None for an
    ECDSA curve it does not name."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keytype, scheme, value = "ed25519", "ed25519", raw.hex()
    elif isinstance(public_key, rsa.RSAPublicKey):
        keytype, scheme, value = "rsa", "rsassa-pss-sha256", public_pem(public_key).decode()
    else:
        curve = _SSLIB_ECDSA.get(public_key.curve.name)
        if curve is None:
            return None
        keytype, scheme, value = "ecdsa", f"ecdsa-sha2-{curve}", public_pem(public_key).decode()
    key = {"keytype": keytype, "scheme": scheme, "keyval": {"public": value}}
    return hashlib.sha256(encode_canonical(key)).hexdigest()


def public_pem(public_key: PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key(password: bytes | None = None) -> tuple[bytes, bytes]:
    """A new ECDSA P-256 key pair as (private PKCS#8 PEM, public SPKI PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    return private, public_pem(key.public_key())


def _read(path: Path) -> bytes:
    return read_input(path, "key", KeyError_, max_size=MAX_KEY_FILE)


def load_private_key(path: Path, password: bytes | None = None) -> PrivateKey:
    """A PKCS#8 PEM private key, or a cosign encrypted key file (``password`` decrypts either)."""
    data = _read(path)
    if is_cosign_key(data):
        der = decrypt_cosign_key(data, password, source=str(path))
        try:
            key = serialization.load_der_private_key(der, password=None)
        except (ValueError, UnsupportedAlgorithm):
            raise KeyError_(f"{path}: the cosign key does not hold a PKCS#8 private key") from None
        return _supported(key, path)
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        raise KeyError_(
            f"{path}: the key is encrypted: set ATTESTLAKE_KEY_PASSWORD to its password"
            if password is None
            else f"{path}: the key is not encrypted, but a password was given"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyError_(f"{path}: not a PEM private key, or the password is wrong") from None
    return _supported(key, path)


def _supported(key: object, path: Path) -> PrivateKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        return key
    raise KeyError_(
        f"{path}: unsupported key type {type(key).__name__} (use ECDSA, ed25519 or RSA)"
    )


def key_password(path: Path, env: Mapping[str, str]) -> bytes | None:
    """The password for the key at ``path`` from the environment.

    cosign keys: ``COSIGN_PASSWORD`` or ``ATTESTLAKE_KEY_PASSWORD``; PEM keys:
    ``ATTESTLAKE_KEY_PASSWORD`` (an empty value means no password).
    """
    if is_cosign_key(_read(path)):
        return password_from_env(env)
    value = env.get("ATTESTLAKE_KEY_PASSWORD")
    return value.encode() if value else None


def parse_public_key(data: bytes, source: str = "<key>") -> PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyError_(f"{source}: not a PEM public key (SPKI, as in cosign.pub)") from None
    if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        return key
    raise KeyError_(f"{source}: unsupported key type {type(key).__name__}")


def load_public_key(path: Path) -> PublicKey:
    return parse_public_key(_read(path), str(path))


def sign(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(message, ec.ECDSA(_ecdsa_hash(key.curve)))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def _ecdsa_hash(curve: ec.EllipticCurve) -> hashes.HashAlgorithm:
    return {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}.get(
        curve.key_size, hashes.SHA256()
    )


def verify_signature(key: PublicKey, message: bytes, sig: bytes) -> bool:
    """True if ``sig`` is a valid signature of ``message`` by ``key`` (any accepted encoding)."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, message)
            return True
        if isinstance(key, rsa.RSAPublicKey):
            for pad in (
                padding.PKCS1v15(),
                padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO),
            ):
                try:
                    key.verify(sig, message, pad, hashes.SHA256())
                    return True
                except InvalidSignature:
                    continue
            return False
        algo = ec.ECDSA(_ecdsa_hash(key.curve))
        size = (key.curve.key_size + 7) // 8
        candidates = [sig]
        if len(sig) == 2 * size:  # raw r||s (IEEE P1363)
            r, s = int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
            candidates.append(encode_dss_signature(r, s))
        for candidate in candidates:
            try:
                key.verify(candidate, message, algo)
                return True
            except (InvalidSignature, ValueError):
                continue
        return False
    except (InvalidSignature, ValueError):
        return False


@dataclass(frozen=True)
class KeySigner(Signer):
    """Signs DSSE envelopes with a private key."""

    key: PrivateKey

    @classmethod
    def from_file(cls, path: Path, password: bytes | None = None) -> KeySigner:
        return cls(load_private_key(path, password))

    @classmethod
    def from_env(cls, path: Path, env: Mapping[str, str]) -> KeySigner:
        """Load the key at ``path`` with its password from the environment (:func:`key_password`)."""
        return cls(load_private_key(path, key_password(path, env)))

    @property
    def key_id(self) -> str:
        return key_id(self.key.public_key())

    @property
    def identity(self) -> str:
        return f"key {self.key_id}"

    def sign_statements(self, statements: Sequence[bytes]) -> list[SignedStatement]:
        return [
            SignedStatement(
                ENVELOPE_MEDIA_TYPE,
                self.sign_envelope(INTOTO_PAYLOAD_TYPE, raw).to_json_bytes(),
                raw,
                self.identity,
            )
            for raw in statements
        ]

    def sign_envelope(self, payload_type: str, payload: bytes) -> Envelope:
        unsigned = Envelope(payload_type, payload, ())
        return Envelope(
            payload_type, payload, (Signature(self.key_id, sign(self.key, unsigned.pae())),)
        )
