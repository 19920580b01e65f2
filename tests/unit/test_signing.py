"""Signers: key signing, and Sigstore keyless tested at the sigstore boundary (a test double
for ``SigningContext``; the real path needs Fulcio and Rekor)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore.errors import NetworkError
from sigstore.models import Bundle

from attestlake.errors import ContentError, SigningError
from attestlake.intoto.bundles import parse_document
from attestlake.intoto.dsse import (
    ENVELOPE_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    Envelope,
    Signature,
    pae,
)
from attestlake.signing.bundle_form import as_bundle, key_signed_bundle
from attestlake.signing.keys import KeySigner, public_pem, verify_signature
from attestlake.signing.signing import (
    BUNDLE_MEDIA_TYPE,
    DeferredSigner,
    SigstoreSigner,
    identity_token,
)
from attestlake.verify.trust import read_policy
from attestlake.verify.verify import verify_document
from tests.sigstore_double import GITHUB_ISSUER, WORKFLOW_IDENTITY, FakeSigningContext, github_token

STATEMENTS = [
    json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app", "digest": {"sha256": "a" * 64}}],
            "predicateType": predicate,
            "predicate": {"n": n},
        },
        separators=(",", ":"),
    ).encode()
    for n, predicate in enumerate(
        ("https://attestlake.dev/attestation/run/v1", "https://slsa.dev/provenance/v1")
    )
]


def test_key_signer_signs_each_statement_as_a_dsse_envelope() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = KeySigner(key).sign_statements(STATEMENTS)
    assert [s.media_type for s in signed] == [ENVELOPE_MEDIA_TYPE] * 2
    for raw, s in zip(STATEMENTS, signed, strict=True):
        env = Envelope.parse(s.data)
        assert env.payload == raw == s.statement
        assert verify_signature(key.public_key(), env.pae(), env.signatures[0].sig)


def test_sigstore_signer_pushes_v03_bundles_over_the_exact_bytes() -> None:
    context = FakeSigningContext()
    signer = SigstoreSigner.from_token(context, github_token())
    signed = signer.sign_statements(STATEMENTS)

    assert context.signed == STATEMENTS  # sigstore was handed our exact bytes
    assert context.certificates == 1  # one Fulcio certificate for the whole batch
    for raw, s in zip(STATEMENTS, signed, strict=True):
        assert s.media_type == BUNDLE_MEDIA_TYPE
        assert s.signer == WORKFLOW_IDENTITY  # the identity the certificate binds
        assert s.issuer == GITHUB_ISSUER
        doc = json.loads(s.data)
        assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
        assert doc["verificationMaterial"]["certificate"]["rawBytes"]
        assert len(doc["verificationMaterial"]["tlogEntries"]) == 1
        envelope = doc["dsseEnvelope"]
        assert envelope["payloadType"] == "application/vnd.in-toto+json"
        assert base64.b64decode(envelope["payload"]) == raw
        bundle = Bundle.from_json(s.data)  # sigstore itself reads it back
        sig = base64.b64decode(envelope["signatures"][0]["sig"])
        public = bundle.signing_certificate.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert verify_signature(public, pae(envelope["payloadType"], raw), sig)


def test_sigstore_errors_become_signing_errors() -> None:
    context = FakeSigningContext(fail=NetworkError("fulcio down"))
    signer = SigstoreSigner.from_token(context, github_token())
    with pytest.raises(SigningError, match="keyless signing failed"):
        signer.sign_statements(STATEMENTS)


def test_a_token_sigstore_cannot_use_is_refused() -> None:
    with pytest.raises(SigningError, match="OIDC token is not usable"):
        SigstoreSigner.from_token(FakeSigningContext(), "not.a.jwt")


def test_identity_token_from_the_environment() -> None:
    assert identity_token({"SIGSTORE_ID_TOKEN": "tok"}) == "tok"
    assert identity_token({"SIGSTORE_IDENTITY_TOKEN": "tok2"}) == "tok2"


def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GITHUB_ACTIONS",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GOOGLE_SERVICE_ACCOUNT_NAME",
        "BUILDKITE",
        "GITLAB_CI",
        "CIRCLECI",
        "SIGSTORE_ID_TOKEN",
        "SIGSTORE_IDENTITY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


def test_no_identity_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_ambient_credentials(monkeypatch)
    with pytest.raises(SigningError, match="id-token: write"):
        identity_token({})


def test_github_actions_without_id_token_permission(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_ambient_credentials(monkeypatch)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with pytest.raises(SigningError, match="id-token"):
        identity_token({})


def test_deferred_signer_is_made_on_first_use_only() -> None:
    made: list[int] = []

    def make() -> KeySigner:
        made.append(1)
        return KeySigner(ec.generate_private_key(ec.SECP256R1()))

    signer = DeferredSigner(make, "sigstore keyless")
    assert signer.identity == "sigstore keyless" and not made
    signer.sign_statements(STATEMENTS[:1])
    signer.sign_statements(STATEMENTS[1:])
    assert made == [1] and signer.identity.startswith("key sha256:")


def test_a_key_signed_envelope_as_a_bundle_names_its_key_and_verifies_with_it(
    tmp_path: Path,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = KeySigner(key)
    [signed] = signer.sign_statements(STATEMENTS[:1])
    raw = as_bundle(signed.media_type, signed.data)
    doc = parse_document(raw)
    assert doc.bundle is not None and doc.format == "sigstore-bundle-v0.3"
    assert doc.bundle.public_key_hint == signer.key_id and doc.bundle.log_entries == ()
    assert doc.bundle.envelope == Envelope.parse(signed.data)  # the same signature, payload
    assert as_bundle(BUNDLE_MEDIA_TYPE, raw) == raw  # a bundle stays as it is
    (tmp_path / "ci.pub").write_bytes(public_pem(key.public_key()))
    (tmp_path / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    outcome = verify_document(raw, read_policy(tmp_path / "trust.yaml"))
    assert (outcome.status, outcome.key_id) == ("verified", signer.key_id)


def test_only_an_envelope_signed_by_one_named_key_becomes_a_bundle() -> None:
    signer, other = (
        KeySigner(ec.generate_private_key(ec.SECP256R1())),
        KeySigner(ec.generate_private_key(ec.SECP256R1())),
    )
    one = signer.sign_envelope(INTOTO_PAYLOAD_TYPE, STATEMENTS[0])
    two = Envelope(one.payload_type, one.payload, one.signatures + other.sign_envelope(
        INTOTO_PAYLOAD_TYPE, STATEMENTS[0]
    ).signatures)  # fmt: skip
    nameless = Envelope(one.payload_type, one.payload, (Signature("", one.signatures[0].sig),))
    for envelope in (two, nameless, Envelope(one.payload_type, one.payload, ())):
        with pytest.raises(ContentError, match="signatures by one key"):
            key_signed_bundle(envelope)
    with pytest.raises(ContentError, match="not a signed statement"):
        as_bundle("application/json", b"{}")
