"""cosign's legacy ``.att`` layers, keyless, verified offline as cosign verifies them: each layer
made as ``cosign attest`` makes it (``tests/cosign_att.py``) against a private Sigstore
instance, read as the crawler reads it (the layer's descriptor with its bytes and annotations)
and verified against a trust policy naming that instance's trusted root. Genuine layers
verify with their identity; each forgery fails with its own reason."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.intoto.cosign_att import layer_document
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.verify.outcome import Outcome
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy, verify_document
from tests.cosign_att import (
    GITHUB_ISSUER,
    RELEASE,
    SLSA_V02,
    AttLayer,
    envelope,
    key_layer,
    keyless_layer,
    provenance,
)
from tests.sigstore_instance import SigstoreInstance

IMAGE = "registry.example/acme/shop"
DIGEST = "sha256:" + "ab" * 32
BUNDLE = "dev.sigstore.cosign/bundle"
CERT = "dev.sigstore.cosign/certificate"


@pytest.fixture(scope="module")
def instance() -> SigstoreInstance:
    return SigstoreInstance()


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def policy(
    instance: SigstoreInstance,
    signing_key: ec.EllipticCurvePrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> TrustPolicy:
    home = tmp_path_factory.mktemp("policy")
    instance.write_trusted_root(home / "trusted_root.json")
    pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (home / "cosign.pub").write_bytes(pem)
    (home / "policy.yaml").write_text(
        "trusted_root: trusted_root.json\n"
        f"identities:\n  - issuer: {GITHUB_ISSUER}\n    subject: {RELEASE}\n"
        "keys: [cosign.pub]\n"
    )
    return load_policy(home / "policy.yaml")


def verify(layer: AttLayer, policy: TrustPolicy) -> Outcome:
    return verify_document(
        layer_document(ENVELOPE_MEDIA_TYPE, layer.annotations, layer.envelope), policy
    )


def statement() -> dict[str, Any]:
    return provenance(IMAGE, DIGEST)


@pytest.mark.parametrize("kind", ["intoto/0.0.2", "dsse/0.0.1"])
def test_a_genuine_keyless_layer_verifies_with_its_identity(
    instance: SigstoreInstance, policy: TrustPolicy, kind: str
) -> None:
    outcome = verify(keyless_layer(instance, statement(), kind=kind), policy)
    assert (outcome.status, outcome.reason, outcome.detail) == ("verified", None, None)
    assert (outcome.signer, outcome.issuer) == (RELEASE, GITHUB_ISSUER)
    assert outcome.format == "cosign-legacy-att" and outcome.predicate_type == SLSA_V02
    assert outcome.statement == statement()


def test_a_key_signed_layer_verifies_with_the_policy_key(
    policy: TrustPolicy, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    outcome = verify(key_layer(statement(), signing_key), policy)
    assert (outcome.status, outcome.signer, outcome.format) == (
        "verified",
        "cosign.pub",
        "cosign-legacy-att",
    )
    other = verify(key_layer(statement(), ec.generate_private_key(ec.SECP256R1())), policy)
    assert (other.status, other.reason) == ("not_verified", "no_trust_material")


def _bundle(layer: AttLayer) -> dict[str, Any]:
    return dict(json.loads(layer.annotations[BUNDLE]))


def _with_bundle(layer: AttLayer, change: Callable[[dict[str, Any]], None]) -> AttLayer:
    bundle = _bundle(layer)
    change(bundle)
    return AttLayer(layer.envelope, {**layer.annotations, BUNDLE: json.dumps(bundle)})


def test_a_set_signed_by_another_key_is_a_bad_signature(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    layer = keyless_layer(instance, statement())
    forged_key = ec.generate_private_key(ec.SECP256R1())
    cert = layer.annotations[CERT].encode()
    forged = instance.cosign_bundle(
        layer.envelope, x509.load_pem_x509_certificate(cert), log_key=forged_key
    )
    outcome = verify(AttLayer(layer.envelope, {**layer.annotations, BUNDLE: forged}), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "bad_signature")
    assert "signed entry timestamp does not verify with the key of log" in str(outcome.detail)
    assert outcome.signer == RELEASE  # recorded, never trusted


def test_a_set_of_a_log_outside_the_trusted_root_is_a_bad_signature(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    layer = _with_bundle(
        keyless_layer(instance, statement()),
        lambda b: b["Payload"].update(logID="00" * 32),
    )
    outcome = verify(layer, policy)
    assert outcome.reason == "bad_signature"
    assert "names log 0000" in str(outcome.detail) and "not a transparency log" in str(
        outcome.detail
    )


def test_an_entry_changed_after_logging_breaks_the_set(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    layer = _with_bundle(
        keyless_layer(instance, statement()),
        lambda b: b["Payload"].update(integratedTime=b["Payload"]["integratedTime"] + 1),
    )
    outcome = verify(layer, policy)
    assert outcome.reason == "bad_signature"
    assert "signed entry timestamp does not verify" in str(outcome.detail)


def test_a_logged_entry_of_another_envelope_is_a_bad_signature(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    """The SET is genuine, but it vouches for another attestation of the same signer."""
    genuine = keyless_layer(instance, statement())
    other = keyless_layer(instance, provenance(IMAGE, "sha256:" + "cd" * 32))
    swapped = AttLayer(genuine.envelope, {**genuine.annotations, BUNDLE: other.annotations[BUNDLE]})
    outcome = verify(swapped, policy)
    assert outcome.reason == "bad_signature"
    assert "intoto/0.0.2 log entry is of another envelope" in str(outcome.detail)


def test_a_tampered_payload_is_a_bad_signature(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    layer = keyless_layer(instance, statement())
    env = json.loads(layer.envelope)
    evil = provenance(IMAGE, "sha256:" + "ee" * 32)
    env["payload"] = base64.b64encode(json.dumps(evil).encode()).decode()
    outcome = verify(AttLayer(json.dumps(env).encode(), layer.annotations), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "bad_signature")
    assert "log entry is of another envelope" in str(outcome.detail)
    assert outcome.statement == evil  # what it claims is recorded, untrusted


def test_a_logged_envelope_whose_signature_is_not_the_certificates(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    """A log that vouches for a tampered envelope (Rekor checks signatures on upload; this
    one did not): the envelope's own signature is still checked."""
    genuine = keyless_layer(instance, statement())
    cert = x509.load_pem_x509_certificate(genuine.annotations[CERT].encode())
    tampered = envelope(
        provenance(IMAGE, "sha256:" + "ee" * 32), ec.generate_private_key(ec.SECP256R1())
    )
    logged = instance.cosign_bundle(tampered, cert)
    outcome = verify(AttLayer(tampered, {**genuine.annotations, BUNDLE: logged}), policy)
    assert outcome.reason == "bad_signature"
    assert "envelope's signature does not verify with the certificate's key" in str(outcome.detail)


def test_a_certificate_of_another_ca_is_an_untrusted_signer(policy: TrustPolicy) -> None:
    stranger = SigstoreInstance("another Fulcio")  # its own CA and log, not in the root
    outcome = verify(keyless_layer(stranger, statement()), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "untrusted_signer")
    assert "not a certificate authority of the trusted root" in str(outcome.detail)
    assert outcome.signer == RELEASE


def test_a_certificate_forged_in_the_trusted_cas_name_is_a_bad_signature(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    forger = SigstoreInstance()  # a CA named as the trusted CA is, with another key
    assert forger.ca.subject == instance.ca.subject

    forger.rekor_key = instance.rekor_key  # even with the genuine log's signature
    outcome = verify(keyless_layer(forger, statement()), policy)
    assert (outcome.reason, outcome.signer) == ("bad_signature", RELEASE)
    assert "its signature does not verify with that CA's key" in str(outcome.detail)


def test_an_identity_not_in_the_policy_is_an_impersonation(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    mallory = "https://github.com/mallory/shop/.github/workflows/release.yml@refs/heads/main"
    outcome = verify(keyless_layer(instance, statement(), mallory), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "untrusted_signer")
    assert str(outcome.detail).startswith("impersonation: the Sigstore signature is valid")
    assert outcome.signer == mallory
    other_issuer = verify(
        keyless_layer(instance, statement(), issuer="https://gitlab.example"), policy
    )
    assert other_issuer.reason == "untrusted_signer"


def test_an_entry_logged_after_the_certificate_expired_is_a_bad_signature(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    layer = keyless_layer(instance, statement())
    cert = x509.load_pem_x509_certificate(layer.annotations[CERT].encode())
    late = instance.cosign_bundle(
        layer.envelope, cert, integrated=datetime.now(UTC) + timedelta(hours=1)
    )
    outcome = verify(AttLayer(layer.envelope, {**layer.annotations, BUNDLE: late}), policy)
    assert outcome.reason == "bad_signature"
    assert "not valid when the log integrated the entry" in str(outcome.detail)


def test_without_a_rekor_bundle_it_cannot_be_verified_offline(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    layer = keyless_layer(instance, statement())
    bare = {k: v for k, v in layer.annotations.items() if k != BUNDLE}
    outcome = verify(AttLayer(layer.envelope, bare), policy)
    assert (outcome.reason, outcome.signer) == ("unsupported", RELEASE)
    assert "no Rekor bundle" in str(outcome.detail)


def test_another_kind_of_log_entry_is_unsupported(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    body = {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {}}
    layer = _with_bundle(
        keyless_layer(instance, statement()),
        lambda b: b["Payload"].update(body=base64.b64encode(json.dumps(body).encode()).decode()),
    )
    outcome = verify(layer, policy)
    assert outcome.reason == "unsupported"
    assert "hashedrekord/0.0.1 is not one of an attestation" in str(outcome.detail)


def test_a_policy_without_identities_has_no_trust_material(
    instance: SigstoreInstance, tmp_path: Path
) -> None:
    instance.write_trusted_root(tmp_path / "root.json")
    (tmp_path / "keys-only.yaml").write_text("trusted_root: root.json\n")
    outcome = verify(keyless_layer(instance, statement()), load_policy(tmp_path / "keys-only.yaml"))
    assert outcome.reason == "no_trust_material"
    assert outcome.detail == "the trust policy has no Sigstore identities"


HOSTILE_ANNOTATIONS: list[tuple[str, dict[str, str], str]] = [
    ("garbage certificate", {CERT: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"}, "is not a PEM X.509 certificate"),
    ("bundle not JSON", {BUNDLE: "{"}, f"annotation {BUNDLE}"),
    ("bundle without payload", {BUNDLE: "{}"}, "has no Payload object"),
    ("body not a string", {BUNDLE: json.dumps({"Payload": {"body": 1}})}, "Payload.body is not a string"),
    ("logID not hex", {BUNDLE: json.dumps({"Payload": {"body": "", "logID": "zz"}})}, "logID is not a hex"),
    ("integratedTime a string", {BUNDLE: json.dumps({"SignedEntryTimestamp": "", "Payload": {"body": "", "logID": "00", "integratedTime": "1", "logIndex": 1}})}, "integratedTime is not a non-negative 64-bit integer"),
    ("integratedTime too large", {BUNDLE: json.dumps({"SignedEntryTimestamp": "", "Payload": {"body": "", "logID": "00", "integratedTime": 2**62, "logIndex": 1}})}, "integratedTime is out of range"),
    ("SET not base64", {BUNDLE: json.dumps({"SignedEntryTimestamp": "!!", "Payload": {"body": "", "logID": "00", "integratedTime": 1, "logIndex": 1}})}, "SignedEntryTimestamp is not valid base64"),
    ("body not base64", {BUNDLE: json.dumps({"SignedEntryTimestamp": "", "Payload": {"body": "!", "logID": "00", "integratedTime": 1, "logIndex": 1}})}, "log entry body is not valid base64"),
    ("body not an entry", {BUNDLE: json.dumps({"SignedEntryTimestamp": "", "Payload": {"body": base64.b64encode(b"[]").decode(), "logID": "00", "integratedTime": 1, "logIndex": 1}})}, "log entry body is not a JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("annotations", "detail"),
    [(a, d) for _, a, d in HOSTILE_ANNOTATIONS],
    ids=[name for name, _, _ in HOSTILE_ANNOTATIONS],
)
def test_hostile_annotations_are_malformed(
    instance: SigstoreInstance, policy: TrustPolicy, annotations: dict[str, str], detail: str
) -> None:
    layer = keyless_layer(instance, statement())
    outcome = verify(AttLayer(layer.envelope, {**layer.annotations, **annotations}), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "malformed")
    assert detail in str(outcome.detail)


def test_hostile_entry_bodies_are_malformed(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    def body(
        spec: Any, kind: str = "intoto", version: str = "0.0.2"
    ) -> Callable[[dict[str, Any]], None]:
        raw = json.dumps({"apiVersion": version, "kind": kind, "spec": spec}).encode()
        return lambda b: b["Payload"].update(body=base64.b64encode(raw).decode())

    cases = {
        "spec": (body([]), "log entry spec is not a JSON object"),
        "signatures": (body({"content": {"envelope": {"signatures": []}}}), "envelope signatures is not a non-empty list"),
        "md5": (body({"envelopeHash": {"algorithm": "md5", "value": "00"}, "signatures": [{"signature": "", "verifier": ""}]}, "dsse", "0.0.1"), "is not a sha256 hash"),
        "hex": (body({"envelopeHash": {"algorithm": "sha256", "value": "z" * 64}, "signatures": [{"signature": "", "verifier": ""}]}, "dsse", "0.0.1"), "value is not a hex sha256"),
    }  # fmt: skip
    for name, (change, detail) in cases.items():
        outcome = verify(_with_bundle(keyless_layer(instance, statement()), change), policy)
        assert (name, outcome.reason) == (name, "malformed")
        assert detail in str(outcome.detail), name


def test_a_descriptor_whose_data_is_not_its_digest_is_malformed(
    instance: SigstoreInstance, policy: TrustPolicy
) -> None:
    layer = keyless_layer(instance, statement())
    doc = json.loads(layer_document(ENVELOPE_MEDIA_TYPE, layer.annotations, layer.envelope))
    doc["digest"] = "sha256:" + "00" * 32
    outcome = verify_document(json.dumps(doc).encode(), policy)
    assert outcome.reason == "malformed"
    assert "digest and size are not those of its data" in str(outcome.detail)


# -- a real entry of the public-good Rekor ---------------------------------------------------
REAL = "sigstore-js.bundleV01-dsse-no-proof.sigstore.json"


def _real_layer(corpus: Path) -> tuple[AttLayer, str]:
    """The corpus's sigstore-js bundle (a real public-good Fulcio certificate and a real
    ``dsse/0.0.1`` Rekor entry with its SET, no inclusion proof) laid out as cosign lays out
    a legacy attestation: the envelope's bytes as logged, the certificate and Rekor bundle as
    annotations. Returns the layer and its signer."""
    bundle = json.loads((corpus / REAL).read_text())
    material = bundle["verificationMaterial"]
    der = base64.b64decode(material["x509CertificateChain"]["certificates"][0]["rawBytes"])
    cert = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    entry = material["tlogEntries"][0]
    rekor = {
        "SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
        "Payload": {
            "body": entry["canonicalizedBody"],
            "integratedTime": int(entry["integratedTime"]),
            "logIndex": int(entry["logIndex"]),
            "logID": base64.b64decode(entry["logId"]["keyId"]).hex(),
        },
    }
    envelope_bytes = json.dumps(bundle["dsseEnvelope"], separators=(",", ":")).encode()
    annotations = {
        "dev.cosignproject.cosign/signature": "",
        CERT: cert.decode(),
        BUNDLE: json.dumps(rekor),
    }
    return AttLayer(envelope_bytes, annotations), "brian@dehamer.com"


@pytest.mark.corpus
def test_a_real_public_good_entry_verifies_offline_with_its_set(
    corpus: Path, tmp_path: Path
) -> None:
    """The real SET is signed by the public-good Rekor key over the canonical payload exactly
    as attestlake rebuilds it, the real certificate chains to the public-good Fulcio: the
    layer verifies under the pinned public-good root, and a changed log index does not."""
    layer, signer = _real_layer(corpus)
    root = corpus / "keys" / "sigstore-prod.trusted_root.json"
    (tmp_path / "trust.yaml").write_text(
        f"trusted_root: {root}\n"
        f"identities:\n  - issuer: https://github.com/login/oauth\n    subject: {signer}\n"
    )
    policy = load_policy(tmp_path / "trust.yaml")
    outcome = verify(layer, policy)
    assert (outcome.status, outcome.signer, outcome.issuer) == (
        "verified",
        signer,
        "https://github.com/login/oauth",
    )
    moved = _with_bundle(
        layer, lambda b: b["Payload"].update(logIndex=b["Payload"]["logIndex"] + 1)
    )
    assert verify(moved, policy).reason == "bad_signature"
    stranger = SigstoreInstance()  # a root that is not public-good: another Fulcio CA
    stranger.write_trusted_root(tmp_path / "private.json")
    (tmp_path / "private.yaml").write_text(
        "trusted_root: private.json\n"
        f"identities:\n  - issuer: https://github.com/login/oauth\n    subject: {signer}\n"
    )
    refused = verify(layer, load_policy(tmp_path / "private.yaml"))
    assert refused.reason == "untrusted_signer" and refused.signer == signer
