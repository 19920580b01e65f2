"""Attestation documents (bundles.py) and the keyless checks that need no network and no corpus.

Every document, however hostile, becomes an Outcome: malformed, unsupported, or a verdict.
Sigstore bundles here carry certificates from a private test CA, so the furthest they get is
the trusted-root check; real bundles are verified in tests/integration/test_corpus_verify.py.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from attestlake.errors import ContentError, InputError
from attestlake.intoto.bundles import (
    BUNDLE_MEDIA_TYPES,
    UnsupportedDocument,
    parse_document,
    read_documents,
    split_json_lines,
)
from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE, pae
from attestlake.signing.keys import KeySigner, generate_key
from attestlake.verify.keyless import certificate_identity
from attestlake.verify.outcome import NOT_VERIFIED, REASONS, VERIFIED
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy, verify_document

GH_ISSUER = "https://token.actions.githubusercontent.com"
IDENTITY = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"
V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
V03_ALT = "application/vnd.dev.sigstore.bundle+json;version=0.3"
V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def utf8_der(text: str) -> bytes:
    data = text.encode()
    length = bytes([len(data)]) if len(data) < 128 else bytes([0x81, len(data)])
    return b"\x0c" + length + data


STATEMENT = json.dumps(
    {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": "0" * 64}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"buildDefinition": {}},
    }
).encode()


class PrivateCA:
    """A certificate authority that no trusted root knows, issuing Fulcio-shaped certificates."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "example"),
                x509.NameAttribute(NameOID.COMMON_NAME, "private-ca"),
            ]
        )

    def leaf(
        self,
        *,
        uri: str | None = IDENTITY,
        email: str | None = None,
        issuer: str | None = GH_ISSUER,
        v1_issuer_only: bool = False,
    ) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(minutes=10))
        )
        names: list[x509.GeneralName] = []
        if uri:
            names.append(x509.UniformResourceIdentifier(uri))
        if email:
            names.append(x509.RFC822Name(email))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=True)
        if issuer:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(_ISSUER_V1, issuer.encode()), critical=False
            )
            if not v1_issuer_only:
                builder = builder.add_extension(
                    x509.UnrecognizedExtension(_ISSUER_V2, utf8_der(issuer)), critical=False
                )
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
            critical=False,
        )
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.DER), key


def log_entry(kind: str = "dsse", version: str = "0.0.1", proof: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "logIndex": "7",
        "logId": {"keyId": b64(b"k" * 32)},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": str(int(datetime.now(UTC).timestamp())),  # within the leaf's validity
        "inclusionPromise": {"signedEntryTimestamp": b64(b"set")},
        "canonicalizedBody": b64(b"{}"),
    }
    if proof:
        entry["inclusionProof"] = {
            "logIndex": "7",
            "rootHash": b64(b"r" * 32),
            "treeSize": "8",
            "hashes": [b64(b"h" * 32)],
            "checkpoint": {"envelope": "rekor.sigstore.dev - 1\n8\nroot\n"},
        }
    return entry


def make_bundle(
    ca: PrivateCA,
    *,
    media_type: str = V03,
    entries: list[dict[str, Any]] | None = None,
    timestamps: bool = False,
    **leaf: Any,
) -> dict[str, Any]:
    der, key = ca.leaf(**leaf)
    sig = key.sign(pae(INTOTO_PAYLOAD_TYPE, STATEMENT), ec.ECDSA(hashes.SHA256()))
    cert = {"rawBytes": b64(der)}
    material: dict[str, Any] = (
        {"x509CertificateChain": {"certificates": [cert]}}
        if media_type == V01
        else {"certificate": cert}
    )
    material["tlogEntries"] = [log_entry()] if entries is None else entries
    if timestamps:
        material["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": "MA=="}]}
    return {
        "mediaType": media_type,
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": b64(STATEMENT),
            "payloadType": INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": b64(sig)}],
        },
    }


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def ca() -> PrivateCA:
    return PrivateCA()


@pytest.fixture
def keyless_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TrustPolicy:
    # sigstore-python copies its embedded root under the XDG directories: keep them in tmp.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"identities:\n  - issuer: {GH_ISSUER}\n    subject: {IDENTITY}\n")
    return load_policy(policy)


@pytest.fixture
def keys_policy(tmp_path: Path) -> tuple[TrustPolicy, KeySigner]:
    private_pem, public_pem = generate_key()
    (tmp_path / "team.pub.pem").write_bytes(public_pem)
    (tmp_path / "team.key.pem").write_bytes(private_pem)
    (tmp_path / "keys.yaml").write_text("keys:\n  - path: team.pub.pem\n")
    return load_policy(tmp_path / "keys.yaml"), KeySigner.from_file(tmp_path / "team.key.pem")


# --- parsing: which format -----------------------------------------------------------------


@pytest.mark.parametrize(("media_type", "version"), sorted(BUNDLE_MEDIA_TYPES.items()))
def test_every_bundle_media_type_spelling(ca: PrivateCA, media_type: str, version: str) -> None:
    doc = parse_document(raw(make_bundle(ca, media_type=media_type)))

    assert doc.format == f"sigstore-bundle-v{version}"
    assert doc.bundle is not None
    assert doc.bundle.certificate is not None
    assert doc.bundle.envelope is not None
    assert doc.bundle.envelope.payload == STATEMENT


def test_both_v03_spellings_are_the_same_format(ca: PrivateCA) -> None:
    a = parse_document(raw(make_bundle(ca, media_type=V03)))
    b = parse_document(raw(make_bundle(ca, media_type=V03_ALT)))
    assert a.format == b.format == "sigstore-bundle-v0.3"


def test_unknown_bundle_version_is_unsupported(ca: PrivateCA, keyless_policy: TrustPolicy) -> None:
    bundle = make_bundle(ca, media_type="application/vnd.dev.sigstore.bundle.v0.9+json")
    with pytest.raises(UnsupportedDocument, match="unknown Sigstore bundle media type"):
        parse_document(raw(bundle))
    outcome = verify_document(raw(bundle), keyless_policy)
    assert (outcome.reason, outcome.format) == ("unsupported", "sigstore-bundle")


def test_dsse_and_statements() -> None:
    env = {"payloadType": INTOTO_PAYLOAD_TYPE, "payload": b64(STATEMENT), "signatures": []}
    assert parse_document(raw(env)).format == "dsse"
    statement = parse_document(STATEMENT)
    assert statement.format == "statement"
    assert statement.statement is not None
    # the in-toto protobuf bindings with proto field names (Chainloop's renderer)
    proto_names = {"type": "https://in-toto.io/Statement/v1", "subject": [], "predicate_type": "x"}
    assert parse_document(raw(proto_names)).format == "statement"


@pytest.mark.parametrize(
    "doc",
    [{"hello": "world"}, {"mediaType": "application/vnd.oci.image.manifest.v1+json"}],
    ids=["object", "oci-manifest"],
)
def test_other_json_objects_are_unsupported(doc: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedDocument):
        parse_document(raw(doc))


@pytest.mark.parametrize("text", [b"[]", b"42", b'"x"', b"null", b"{", b"\xff\xfe"])
def test_not_an_object_is_malformed(text: bytes) -> None:
    with pytest.raises(ContentError):
        parse_document(text)


# --- JSON Lines and files ------------------------------------------------------------------


def test_split_json_lines_numbers_lines_from_one_and_skips_blank_ones() -> None:
    text = b'{"a":1}\r\n\n   \n{"b":2}\n{"c":3}'
    assert list(split_json_lines(text)) == [(1, b'{"a":1}'), (4, b'{"b":2}'), (5, b'{"c":3}')]


def test_read_documents(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b'{"x":1}\n\n{"y":2}\n')
    (tmp_path / "b.json").write_bytes(b'{\n"x": 1\n}\n')
    (tmp_path / "one-line.intoto.jsonl").write_bytes(b'{"x":1}')
    (tmp_path / "empty.jsonl").write_bytes(b"")

    assert list(read_documents(tmp_path / "a.jsonl")) == [
        (f"{tmp_path / 'a.jsonl'}:1", b'{"x":1}'),
        (f"{tmp_path / 'a.jsonl'}:3", b'{"y":2}'),
    ]
    assert list(read_documents(tmp_path / "b.json")) == [
        (str(tmp_path / "b.json"), b'{\n"x": 1\n}\n')
    ]
    assert [s for s, _ in read_documents(tmp_path / "one-line.intoto.jsonl")] == [
        f"{tmp_path / 'one-line.intoto.jsonl'}:1"
    ]
    # an empty file still gets an outcome (malformed), never silently nothing
    assert list(read_documents(tmp_path / "empty.jsonl")) == [(str(tmp_path / "empty.jsonl"), b"")]


def test_read_documents_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_documents(tmp_path / "absent.json"))
    with pytest.raises(InputError, match="is a directory"):
        list(read_documents(tmp_path))
    (tmp_path / "big.jsonl").write_bytes(b"{}\n" * 10)
    with pytest.raises(InputError, match="larger than"):
        list(read_documents(tmp_path / "big.jsonl", max_file_size=8))


# --- what sigstore-python cannot verify ----------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "timestamps", "match"),
    [
        ([], True, "no transparency log entry"),
        ([], False, "no transparency log entry"),
        ([log_entry(kind="intoto", version="0.0.2")], False, "intoto/0.0.2 is not supported"),
        ([log_entry(proof=False)], False, "no inclusion proof"),
        ([log_entry(), log_entry()], False, "exactly one is supported"),
        (
            [log_entry(kind="hashedrekord", version="0.0.2")],
            False,
            "hashedrekord/0.0.2 carries an integrated time",
        ),
    ],
    ids=["tsa-only", "no-time", "legacy-intoto", "promise-only", "two-entries", "timed-v002"],
)
def test_unsupported_bundles(
    ca: PrivateCA,
    keyless_policy: TrustPolicy,
    entries: list[dict[str, Any]],
    timestamps: bool,
    match: str,
) -> None:
    outcome = verify_document(
        raw(make_bundle(ca, entries=entries, timestamps=timestamps)), keyless_policy
    )

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "unsupported"
    assert match in (outcome.detail or "")
    assert "not a CA of the trusted root" in (outcome.detail or "")
    assert (outcome.signer, outcome.issuer) == (IDENTITY, GH_ISSUER)
    assert outcome.predicate_type == PREDICATE_TYPE


def test_v01_bundle_without_inclusion_proof_is_unsupported(
    ca: PrivateCA, keyless_policy: TrustPolicy
) -> None:
    bundle = make_bundle(ca, media_type=V01, entries=[log_entry(proof=False)])
    outcome = verify_document(raw(bundle), keyless_policy)
    assert (outcome.reason, outcome.format) == ("unsupported", "sigstore-bundle-v0.1")


# --- keyless outcomes before any cryptography ----------------------------------------------


def test_certificate_from_a_ca_outside_the_trusted_root_is_untrusted_signer(
    ca: PrivateCA, keyless_policy: TrustPolicy
) -> None:
    # Identity and issuer are exactly what the policy trusts: only the CA gives it away.
    outcome = verify_document(raw(make_bundle(ca)), keyless_policy)

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "untrusted_signer"
    assert "not a certificate authority of the trusted root" in (outcome.detail or "")
    assert (outcome.signer, outcome.issuer) == (IDENTITY, GH_ISSUER)
    assert outcome.key_id and outcome.key_id.startswith("sha256:")
    assert outcome.statement is not None


def test_certificate_forged_under_a_trusted_ca_name_is_a_bad_signature(
    keyless_policy: TrustPolicy,
) -> None:
    forger = PrivateCA()
    forger.name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev"),
            x509.NameAttribute(NameOID.COMMON_NAME, "sigstore-intermediate"),
        ]
    )

    outcome = verify_document(raw(make_bundle(forger)), keyless_policy)

    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature")
    assert "certificate chain not valid" in (outcome.detail or "")
    assert (outcome.signer, outcome.issuer) == (IDENTITY, GH_ISSUER)


def test_certificate_without_identity_is_no_trust_material(
    ca: PrivateCA, keyless_policy: TrustPolicy
) -> None:
    outcome = verify_document(raw(make_bundle(ca, uri=None, entries=[])), keyless_policy)

    assert outcome.reason == "no_trust_material"
    assert "names no signer identity" in (outcome.detail or "")
    assert outcome.signer is None
    assert outcome.predicate_type == PREDICATE_TYPE


def test_bundle_with_a_policy_without_identities_is_no_trust_material(
    ca: PrivateCA, keys_policy: tuple[TrustPolicy, KeySigner]
) -> None:
    outcome = verify_document(raw(make_bundle(ca)), keys_policy[0])

    assert outcome.reason == "no_trust_material"
    assert "no Sigstore identities" in (outcome.detail or "")
    assert (outcome.signer, outcome.issuer) == (IDENTITY, GH_ISSUER)  # recorded either way


def test_message_signature_bundle_is_unsupported(
    ca: PrivateCA, keyless_policy: TrustPolicy
) -> None:
    bundle = make_bundle(ca)
    del bundle["dsseEnvelope"]
    bundle["messageSignature"] = {"messageDigest": {"algorithm": "SHA2_256", "digest": "AA=="}}

    outcome = verify_document(raw(bundle), keyless_policy)

    assert outcome.reason == "unsupported"
    assert "signs a file, not an attestation" in (outcome.detail or "")
    assert outcome.signer == IDENTITY


def test_key_signed_bundle_is_verified_with_the_policy_keys(
    keys_policy: tuple[TrustPolicy, KeySigner],
) -> None:
    policy, signer = keys_policy
    env = json.loads(signer.sign_envelope(INTOTO_PAYLOAD_TYPE, STATEMENT).to_json_bytes())
    bundle = {
        "mediaType": V03,
        "verificationMaterial": {"publicKey": {"hint": signer.key_id}, "tlogEntries": []},
        "dsseEnvelope": env,
    }

    outcome = verify_document(raw(bundle), policy)

    assert outcome.status == VERIFIED, outcome.detail
    assert outcome.format == "sigstore-bundle-v0.3"
    assert outcome.key_id == signer.key_id


# --- certificate identities ----------------------------------------------------------------


def _cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def test_certificate_identity(ca: PrivateCA) -> None:
    assert certificate_identity(_cert(ca.leaf()[0])) == (IDENTITY, GH_ISSUER)
    email = _cert(
        ca.leaf(uri=None, email="dev@example.com", issuer="https://accounts.google.com")[0]
    )
    assert certificate_identity(email) == ("dev@example.com", "https://accounts.google.com")
    v1 = _cert(ca.leaf(issuer="https://issuer.example", v1_issuer_only=True)[0])
    assert certificate_identity(v1) == (IDENTITY, "https://issuer.example")
    long_issuer = "https://" + "x" * 150 + ".example"
    assert certificate_identity(_cert(ca.leaf(issuer=long_issuer)[0]))[1] == long_issuer
    assert certificate_identity(_cert(ca.leaf(uri=None, issuer=None)[0])) == (None, None)


# --- hostile input: every one is an outcome ------------------------------------------------

WRONG_VALUES: list[Any] = [None, 0, -1, 2.5, True, "", "x", "!!not base64!!", [], {}, [[]]]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _paths(value, (*prefix, i))


def _set(obj: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    out = copy.deepcopy(obj)
    target = out
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


def _assert_outcome(document: bytes, policy: TrustPolicy) -> None:
    outcome = verify_document(document, policy)
    assert outcome.status == NOT_VERIFIED
    assert outcome.reason in REASONS
    assert outcome.detail


def test_wrong_types_in_every_field_of_a_bundle(ca: PrivateCA, keyless_policy: TrustPolicy) -> None:
    bundle = make_bundle(ca)
    for path in _paths(bundle):
        for value in WRONG_VALUES:
            _assert_outcome(raw(_set(bundle, path, value)), keyless_policy)
        _assert_outcome(raw(_set(bundle, path, None, delete=True)), keyless_policy)


def test_truncated_bundles(ca: PrivateCA, keyless_policy: TrustPolicy) -> None:
    document = raw(make_bundle(ca))
    for end in range(0, len(document), 37):
        _assert_outcome(document[:end], keyless_policy)


def test_garbage_certificate_is_malformed(ca: PrivateCA, keyless_policy: TrustPolicy) -> None:
    for garbage in (b"", b"\x30\x03\x02\x01\x01", b"not a certificate" * 10):
        bundle = make_bundle(ca)
        bundle["verificationMaterial"]["certificate"]["rawBytes"] = b64(garbage)
        outcome = verify_document(raw(bundle), keyless_policy)
        assert outcome.reason == "malformed"
        assert "certificate" in (outcome.detail or "")


def test_deeply_nested_json(keyless_policy: TrustPolicy) -> None:
    for depth in (50, 5_000, 200_000):
        _assert_outcome(b"[" * depth + b"]" * depth, keyless_policy)
        nested = b'{"mediaType":' * depth + b"1" + b"}" * depth
        _assert_outcome(nested, keyless_policy)


def test_huge_base64(ca: PrivateCA, keyless_policy: TrustPolicy) -> None:
    bundle = make_bundle(ca)
    bundle["dsseEnvelope"]["payload"] = "A" * (40 * 1024 * 1024)
    outcome = verify_document(raw(bundle), keyless_policy)
    assert outcome.reason == "malformed"
    assert "larger than" in (outcome.detail or "")

    bundle["dsseEnvelope"]["payload"] = b64(b"\x00" * 3_000_000)  # big, in bounds, not JSON
    outcome = verify_document(raw(bundle), keyless_policy)
    assert outcome.reason == "malformed"


def test_hostile_statements_and_envelopes(keyless_policy: TrustPolicy) -> None:
    for doc in (
        {"predicateType": 1, "_type": "x"},
        {"predicateType": "x", "_type": "x", "subject": "not a list"},
        {"payloadType": INTOTO_PAYLOAD_TYPE, "payload": b64(b"[1,2"), "signatures": []},
        {"payloadType": INTOTO_PAYLOAD_TYPE, "payload": b64(STATEMENT), "signatures": [7]},
        {"payloadType": 3, "payload": "", "signatures": []},
    ):
        _assert_outcome(raw(doc), keyless_policy)
