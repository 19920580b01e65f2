"""cosign's encrypted key file: made here in the documented format, read by attestlake."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from nacl.secret import SecretBox

from attestlake.errors import KeyError_
from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE, Envelope
from attestlake.signing.cosign_key import decrypt_cosign_key, is_cosign_key, password_from_env
from attestlake.signing.keys import KeySigner, key_password, load_private_key, verify_signature

# Small scrypt cost so the tests stay fast; cosign itself uses N=32768.
N, R, P = 1024, 8, 1


def cosign_key_file(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    password: bytes,
    *,
    label: str = "ENCRYPTED SIGSTORE PRIVATE KEY",
    n: int = N,
    kdf: str = "scrypt",
    cipher: str = "nacl/secretbox",
) -> bytes:
    """A key file as ``cosign generate-key-pair`` writes it (go-securesystemslib format)."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, nonce = os.urandom(32), os.urandom(SecretBox.NONCE_SIZE)
    secret = hashlib.scrypt(password, salt=salt, n=n, r=R, p=P, maxmem=64 * 1024 * 1024, dklen=32)
    ciphertext = SecretBox(secret).encrypt(der, nonce).ciphertext
    body = {
        "kdf": {
            "name": kdf,
            "params": {"N": n, "r": R, "p": P},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": cipher, "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }
    b64 = base64.b64encode(json.dumps(body).encode()).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


@pytest.fixture
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_cosign_key_loads_with_its_password(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key_file(ec_key, b"correct horse"))
    loaded = load_private_key(path, b"correct horse")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == ec_key.private_numbers()


def test_cosign_key_signs_envelopes_that_verify(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key_file(ec_key, b"pw"))
    signer = KeySigner.from_env(path, {"COSIGN_PASSWORD": "pw"})
    [signed] = signer.sign_statements([b'{"_type":"x"}'])
    env = Envelope.parse(signed.data)
    assert env.payload_type == INTOTO_PAYLOAD_TYPE and env.payload == b'{"_type":"x"}'
    assert verify_signature(ec_key.public_key(), env.pae(), env.signatures[0].sig)
    assert signed.signer == f"key {signer.key_id}"


def test_password_comes_from_cosign_password_then_attestlake_key_password(tmp_path: Path) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key_file(ec.generate_private_key(ec.SECP256R1()), b"a"))
    assert key_password(path, {"COSIGN_PASSWORD": "a", "ATTESTLAKE_KEY_PASSWORD": "b"}) == b"a"
    assert key_password(path, {"ATTESTLAKE_KEY_PASSWORD": "b"}) == b"b"
    assert password_from_env({"COSIGN_PASSWORD": ""}) == b""  # cosign allows an empty one
    assert key_password(path, {}) is None


def test_empty_password_is_a_password(tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key_file(ec_key, b""))
    assert KeySigner.from_env(path, {"COSIGN_PASSWORD": ""}).key_id


def test_pem_key_ignores_cosign_password(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / "ci.key"
    path.write_bytes(pem)
    assert KeySigner.from_env(path, {"COSIGN_PASSWORD": "set globally in CI"}).key_id


def test_wrong_password(tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key_file(ec_key, b"right"))
    with pytest.raises(KeyError_, match="wrong password for the cosign key"):
        load_private_key(path, b"wrong")


def test_missing_password_names_the_variables(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    path = tmp_path / "cosign.key"
    path.write_bytes(cosign_key_file(ec_key, b"right"))
    with pytest.raises(KeyError_, match="COSIGN_PASSWORD"):
        KeySigner.from_env(path, {})


def test_legacy_cosign_label_and_ed25519(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    data = cosign_key_file(key, b"pw", label="ENCRYPTED COSIGN PRIVATE KEY")
    assert is_cosign_key(data)
    path = tmp_path / "old.key"
    path.write_bytes(data)
    assert isinstance(load_private_key(path, b"pw"), ed25519.Ed25519PrivateKey)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kdf": "pbkdf2"}, "unsupported key derivation"),
        ({"cipher": "aes-gcm"}, "unsupported cipher"),
        ({"n": 1000}, "out of bounds"),  # not a power of two
        ({"n": 1 << 22}, "out of bounds"),  # far above cosign's cost
    ],
)
def test_malformed_or_hostile_parameters_are_refused(
    kwargs: dict[str, object], message: str
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    n = kwargs.pop("n", N)
    assert isinstance(n, int)
    # Build with a valid N, then rewrite the parameters in the body.
    data = cosign_key_file(key, b"pw", **kwargs)  # type: ignore[arg-type]
    if n != N:
        body_b64 = b"".join(data.splitlines()[1:-1])
        body = json.loads(base64.b64decode(body_b64))
        body["kdf"]["params"]["N"] = n
        b64 = base64.b64encode(json.dumps(body).encode())
        data = (
            b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
            + b64
            + b"\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
        )
    with pytest.raises(KeyError_, match=message):
        decrypt_cosign_key(data, b"pw")


def test_body_that_is_not_json() -> None:
    data = b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
    with pytest.raises(KeyError_, match="not base64-encoded JSON"):
        decrypt_cosign_key(data, b"pw")
