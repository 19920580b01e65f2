"""Keys and DSSE envelopes: generate, load, sign, verify; PAE; strict envelope parsing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from attestlake.errors import ContentError, KeyError_
from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE, Envelope, Signature, pae
from attestlake.signing.keys import (
    KeySigner,
    generate_key,
    key_id,
    load_private_key,
    load_public_key,
    parse_public_key,
    verify_signature,
)

PAYLOAD = b'{"_type":"https://in-toto.io/Statement/v1","predicateType":"x","subject":[]}'


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _pkcs8(
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# --- generate and load ---------------------------------------------------------------------


def test_generate_key_unencrypted_round_trip(tmp_path: Path) -> None:
    private_pem, public_pem = generate_key()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    priv_path = _write(tmp_path, "k.pem", private_pem)
    pub_path = _write(tmp_path, "k.pub.pem", public_pem)

    private = load_private_key(priv_path)
    public = load_public_key(pub_path)

    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert private.curve.name == "secp256r1"
    assert key_id(private.public_key()) == key_id(public)


def test_generate_key_encrypted_round_trip(tmp_path: Path) -> None:
    private_pem, public_pem = generate_key(b"correct horse")
    assert private_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    priv_path = _write(tmp_path, "k.pem", private_pem)

    private = load_private_key(priv_path, b"correct horse")

    assert key_id(private.public_key()) == key_id(parse_public_key(public_pem))


def test_encrypted_key_without_password_names_the_variable(tmp_path: Path) -> None:
    private_pem, _ = generate_key(b"pw")
    path = _write(tmp_path, "k.pem", private_pem)
    with pytest.raises(KeyError_) as info:
        load_private_key(path)
    assert str(path) in str(info.value)
    assert "ATTESTLAKE_KEY_PASSWORD" in str(info.value)


def test_encrypted_key_wrong_password(tmp_path: Path) -> None:
    private_pem, _ = generate_key(b"pw")
    path = _write(tmp_path, "k.pem", private_pem)
    with pytest.raises(KeyError_, match="password is wrong"):
        load_private_key(path, b"not-pw")


def test_unencrypted_key_with_a_password(tmp_path: Path) -> None:
    private_pem, _ = generate_key()
    path = _write(tmp_path, "k.pem", private_pem)
    with pytest.raises(KeyError_, match="not encrypted"):
        load_private_key(path, b"pw")


def test_missing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.pem"
    with pytest.raises(KeyError_, match="no such key file"):
        load_private_key(path)
    with pytest.raises(KeyError_, match="no such key file"):
        load_public_key(path)


def test_public_key_given_as_private_and_garbage(tmp_path: Path) -> None:
    _, public_pem = generate_key()
    with pytest.raises(KeyError_, match="not a PEM private key"):
        load_private_key(_write(tmp_path, "pub.pem", public_pem))
    with pytest.raises(KeyError_, match="not a PEM public key"):
        parse_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_key_id_is_stable_and_equal_for_private_and_public(tmp_path: Path) -> None:
    private_pem, public_pem = generate_key()
    path = _write(tmp_path, "k.pem", private_pem)
    signer1 = KeySigner.from_file(path)
    signer2 = KeySigner.from_file(path)
    public = parse_public_key(public_pem)

    assert signer1.key_id == signer2.key_id == key_id(public)
    assert signer1.key_id.startswith("sha256:")
    assert len(signer1.key_id) == len("sha256:") + 64
    assert key_id(parse_public_key(generate_key()[1])) != signer1.key_id


# --- PAE and signing -----------------------------------------------------------------------


def test_pae_known_example() -> None:
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters() -> None:
    assert pae("t/ü", b"\xc3\xa9") == b"DSSEv1 4 t/\xc3\xbc 2 \xc3\xa9"
    assert Envelope("a", b"", ()).pae() == b"DSSEv1 1 a 0 "


def test_sign_envelope_then_verify() -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))

    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD)

    assert env.payload == PAYLOAD
    assert env.payload_type == INTOTO_PAYLOAD_TYPE
    assert len(env.signatures) == 1
    assert env.signatures[0].keyid == signer.key_id
    public = signer.key.public_key()
    assert verify_signature(public, env.pae(), env.signatures[0].sig)


def test_changed_payload_fails() -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD)
    tampered = Envelope(env.payload_type, PAYLOAD.replace(b'"x"', b'"y"'), env.signatures)
    assert not verify_signature(signer.key.public_key(), tampered.pae(), env.signatures[0].sig)


def test_changed_payload_type_fails() -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD)
    other = Envelope("application/json", env.payload, env.signatures)
    assert not verify_signature(signer.key.public_key(), other.pae(), env.signatures[0].sig)


def test_signature_by_another_key_fails() -> None:
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD)
    assert not verify_signature(other, env.pae(), env.signatures[0].sig)


def test_ecdsa_raw_r_s_p1363_signature_is_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    message = pae(INTOTO_PAYLOAD_TYPE, PAYLOAD)
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")

    assert verify_signature(key.public_key(), message, raw)
    assert not verify_signature(key.public_key(), message + b"!", raw)


def test_ecdsa_garbage_signature_is_false_not_an_exception() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert not verify_signature(key.public_key(), b"m", b"")
    assert not verify_signature(key.public_key(), b"m", b"\x00" * 64)
    assert not verify_signature(key.public_key(), b"m", b"\x30\x02junk")


def test_ed25519_key_signs_and_verifies(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signer = KeySigner.from_file(_write(tmp_path, "ed.pem", _pkcs8(key)))

    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD)

    assert verify_signature(key.public_key(), env.pae(), env.signatures[0].sig)
    assert not verify_signature(key.public_key(), env.pae() + b" ", env.signatures[0].sig)


def test_rsa_key_signs_and_verifies(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = KeySigner.from_file(_write(tmp_path, "rsa.pem", _pkcs8(key)))

    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD)

    assert verify_signature(key.public_key(), env.pae(), env.signatures[0].sig)


@pytest.mark.parametrize(
    "salt_length", [padding.PSS.DIGEST_LENGTH, padding.PSS.MAX_LENGTH], ids=["digest", "max"]
)
def test_rsa_pss_signature_is_accepted(salt_length: int) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = pae(INTOTO_PAYLOAD_TYPE, PAYLOAD)
    sig = key.sign(
        message,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt_length),
        hashes.SHA256(),
    )

    assert verify_signature(key.public_key(), message, sig)
    assert not verify_signature(key.public_key(), message + b"x", sig)


def test_rsa_pkcs1v15_signature_is_accepted() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = pae(INTOTO_PAYLOAD_TYPE, PAYLOAD)
    sig = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert verify_signature(key.public_key(), message, sig)


@pytest.mark.parametrize("curve", [ec.SECP384R1(), ec.SECP521R1()], ids=["p384", "p521"])
def test_other_ecdsa_curves_sign_and_verify(curve: ec.EllipticCurve) -> None:
    signer = KeySigner(ec.generate_private_key(curve))
    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD)
    assert verify_signature(signer.key.public_key(), env.pae(), env.signatures[0].sig)


# --- envelope parsing ----------------------------------------------------------------------


def test_to_json_bytes_and_parse_round_trip_keep_exact_payload_bytes() -> None:
    # Non-canonical JSON with odd whitespace and a trailing newline: the bytes must survive.
    payload = b'{ "b" :1,\n  "a":"\xc3\xa9" }\n'
    signer = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    env = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, payload)

    raw = env.to_json_bytes()
    parsed = Envelope.parse(raw)

    assert parsed == env
    assert parsed.payload == payload
    assert json.loads(raw)["payload"] == base64.b64encode(payload).decode()
    assert verify_signature(signer.key.public_key(), parsed.pae(), parsed.signatures[0].sig)


def test_parse_accepts_str_and_dict() -> None:
    env = Envelope("t", b"data", (Signature("k", b"sig"),))
    raw = env.to_json_bytes()
    assert Envelope.parse(raw.decode()) == env
    assert Envelope.parse(json.loads(raw)) == env


def test_parse_accepts_url_safe_unpadded_base64() -> None:
    payload = b"\xfb\xff\xfe"  # standard base64 "+//+", url-safe "-__-"
    obj = {
        "payloadType": "t",
        "payload": base64.urlsafe_b64encode(payload).decode().rstrip("="),
        "signatures": [{"keyid": "", "sig": "c2ln"}],
    }
    env = Envelope.parse(json.dumps(obj))
    assert env.payload == payload
    assert env.signatures == (Signature("", b"sig"),)


def test_parse_missing_keyid_is_empty() -> None:
    env = Envelope.parse(b'{"payloadType":"t","payload":"","signatures":[{"sig":"c2ln"}]}')
    assert env.signatures == (Signature("", b"sig"),)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json at all", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"payload":"","signatures":[]}', "no payloadType"),
        (b'{"payloadType":1,"payload":"","signatures":[]}', "no payloadType"),
        (b'{"payloadType":"t","payload":""}', "no signatures list"),
        (b'{"payloadType":"t","payload":"","signatures":{"sig":"c2ln"}}', "no signatures list"),
        (b'{"payloadType":"t","payload":"","signatures":["c2ln"]}', "signature is not an object"),
        (b'{"payloadType":"t","payload":"","signatures":[{"keyid":1,"sig":"c2ln"}]}', "keyid"),
        (
            b'{"payloadType":"t","payload":"!!not base64!!","signatures":[]}',
            "payload is not valid base64",
        ),
        (
            b'{"payloadType":"t","payload":"","signatures":[{"sig":"@@@"}]}',
            "signature is not valid base64",
        ),
        (
            b'{"payloadType":"t","payload":"","signatures":[{"sig":null}]}',
            "signature is not a base64 string",
        ),
        (b'{"payloadType":"t","signatures":[]}', "payload is not a base64 string"),
    ],
)
def test_parse_is_strict(raw: bytes, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        Envelope.parse(raw)


def test_statement_of_an_in_toto_envelope() -> None:
    env = Envelope(INTOTO_PAYLOAD_TYPE, PAYLOAD, ())
    assert env.statement()["predicateType"] == "x"


@pytest.mark.parametrize(
    ("payload_type", "payload", "message"),
    [
        ("application/json", PAYLOAD, "not in-toto"),
        (INTOTO_PAYLOAD_TYPE, b"{oops", "payload is not JSON"),
        (INTOTO_PAYLOAD_TYPE, b'{"subject":[]}', "no predicateType"),
        (INTOTO_PAYLOAD_TYPE, b'{"predicateType":"x","subject":{}}', "subject is not a list"),
    ],
)
def test_statement_refuses_what_is_not_a_statement(
    payload_type: str, payload: bytes, message: str
) -> None:
    with pytest.raises(ContentError, match=message):
        Envelope(payload_type, payload, ()).statement()
