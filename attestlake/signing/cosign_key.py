"""cosign's encrypted private key file (``cosign generate-key-pair``), read without cosign.

The file is PEM with the label ``ENCRYPTED SIGSTORE PRIVATE KEY`` (``ENCRYPTED COSIGN PRIVATE
KEY`` in cosign before 2.0). Its body is JSON, the format of go-securesystemslib's
``encrypted`` package::

    {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": "<base64>"},
     "cipher": {"name": "nacl/secretbox", "nonce": "<base64>"},
     "ciphertext": "<base64>"}

The 32-byte secretbox key is ``scrypt(password, salt, N, r, p)``; the plaintext is the private
key as PKCS#8 DER. The password comes from ``COSIGN_PASSWORD`` (as for cosign) or
``ATTESTLAKE_KEY_PASSWORD``; cosign allows an empty password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from attestlake._internal.untrusted_base64 import strict_b64
from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError, KeyError_

LABELS = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
PASSWORD_VARIABLES = ("COSIGN_PASSWORD", "ATTESTLAKE_KEY_PASSWORD")
#: scrypt cost bounds: cosign uses N=32768, r=8, p=1; anything far above is refused.
MAX_SCRYPT_N = 1 << 20
MAX_SCRYPT_MEMORY = 1 << 30
_PEM_RE = re.compile(
    rb"-----BEGIN (?P<label>[A-Z ]+)-----\s*(?P<body>[A-Za-z0-9+/=\s]+?)\s*-----END (?P=label)-----"
)


def is_cosign_key(data: bytes) -> bool:
    """True if ``data`` is a cosign encrypted private key file."""
    return any(b"-----BEGIN " + label.encode() + b"-----" in data for label in LABELS)


def password_from_env(env: Mapping[str, str]) -> bytes | None:
    """The key password from the first of :data:`PASSWORD_VARIABLES` that is set (may be empty)."""
    for name in PASSWORD_VARIABLES:
        if name in env:
            return env[name].encode()
    return None


def _b64(value: Any, what: str, source: str) -> bytes:
    if not isinstance(value, str):
        raise KeyError_(f"{source}: cosign key has no {what}")
    try:
        return strict_b64(value, what)
    except ContentError:
        raise KeyError_(f"{source}: cosign key {what} is not base64") from None


def _body(data: bytes, source: str) -> dict[str, Any]:
    match = _PEM_RE.search(data)
    if match is None or match["label"].decode() not in LABELS:
        raise KeyError_(f"{source}: not a cosign encrypted private key (PEM {LABELS[0]})")
    try:
        raw = base64.b64decode(b"".join(match["body"].split()), validate=True)
        body = loads(raw, max_bytes=len(raw), max_depth=8, what=f"{source}: cosign key body")
    except (binascii.Error, ValueError):
        raise KeyError_(f"{source}: cosign key body is not base64-encoded JSON") from None
    if not isinstance(body, dict):
        raise KeyError_(f"{source}: cosign key body is not a JSON object")
    return body


def decrypt_cosign_key(data: bytes, password: bytes | None, *, source: str = "<key>") -> bytes:
    """The PKCS#8 DER private key inside a cosign encrypted key file."""
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    body = _body(data, source)
    kdf, cipher = body.get("kdf"), body.get("cipher")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise KeyError_(f"{source}: cosign key: unsupported key derivation (expected scrypt)")
    if not isinstance(cipher, dict) or cipher.get("name") != "nacl/secretbox":
        raise KeyError_(f"{source}: cosign key: unsupported cipher (expected nacl/secretbox)")
    params = kdf.get("params")
    if not isinstance(params, dict):
        raise KeyError_(f"{source}: cosign key: scrypt params missing")
    n, r, p = (params.get(k) for k in ("N", "r", "p"))
    if not all(isinstance(v, int) and v > 0 for v in (n, r, p)):
        raise KeyError_(f"{source}: cosign key: scrypt N, r and p must be positive integers")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)  # for mypy
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    if n > MAX_SCRYPT_N or n & (n - 1) or maxmem > MAX_SCRYPT_MEMORY:
        raise KeyError_(f"{source}: cosign key: scrypt parameters out of bounds (N={n}, r={r})")
    if password is None:
        raise KeyError_(
            f"{source}: the cosign key is encrypted: set COSIGN_PASSWORD (or "
            "ATTESTLAKE_KEY_PASSWORD) to its password"
        )
    salt = _b64(kdf.get("salt"), "salt", source)
    nonce = _b64(cipher.get("nonce"), "nonce", source)
    ciphertext = _b64(body.get("ciphertext"), "ciphertext", source)
    if len(nonce) != SecretBox.NONCE_SIZE:
        raise KeyError_(f"{source}: cosign key: nonce must be {SecretBox.NONCE_SIZE} bytes")
    secret = hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32)
    try:
        return SecretBox(secret).decrypt(ciphertext, nonce)
    except CryptoError:
        raise KeyError_(f"{source}: wrong password for the cosign key") from None
