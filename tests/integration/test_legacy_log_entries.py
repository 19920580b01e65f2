"""Rekor ``intoto/0.0.2`` entries in Sigstore bundles (v0.1, v0.2, v0.3): unsupported unless a
trusted root of the policy opts in (``legacy_log_entries``), then verified by attestlake itself:
the SET, the inclusion proof and its signed checkpoint, the certificate chain and SCT at the
integrated time, the entry body against the envelope, the DSSE signature.

The bundles are made with a private Sigstore instance (``tests/sigstore_instance.py``): a real
CA, CT log and Rekor log, so each mutation below is logged and signed as a real log would
(a body that does not match the envelope is still a body the log vouches for), and only the
check under test can refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.errors import TrustPolicyError
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED, Outcome
from attestlake.verify.verify import load_policy, verify_document
from tests.integration.test_corpus_verify import corpus_documents
from tests.sigstore_double import GITHUB_ISSUER, WORKFLOW_IDENTITY
from tests.sigstore_instance import SigstoreInstance, rekor_body

STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "app.tar", "digest": {"sha256": "cd" * 32}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {"buildDefinition": {"buildType": "https://example.com/build/v1"}},
}
MEDIA_TYPES = {
    "v0.1": "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "v0.2": "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "v0.3": "application/vnd.dev.sigstore.bundle.v0.3+json",
}
Body = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _sign(key: ec.EllipticCurvePrivateKey, payload: bytes) -> str:
    return _b64(key.sign(_pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256())))


def _envelope(key: ec.EllipticCurvePrivateKey, statement: dict[str, Any]) -> dict[str, Any]:
    payload = json.dumps(statement).encode()
    return {
        "payload": _b64(payload),
        "payloadType": "application/vnd.in-toto+json",
        "signatures": [{"sig": _sign(key, payload), "keyid": ""}],
    }


def intoto_bundle(
    instance: SigstoreInstance,
    *,
    version: str = "v0.3",
    body: Callable[[Body], None] = lambda b: None,
    envelope: Callable[[dict[str, Any]], None] = lambda e: None,
    entry: Callable[[dict[str, Any]], None] = lambda e: None,
    certificate: x509.Certificate | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    **log: Any,
) -> bytes:
    """A bundle of a DSSE envelope logged by ``instance`` as an ``intoto/0.0.2`` entry, leaf 5
    of a tree of 11 (a proof of several hashes). ``body`` changes the entry body before it is
    logged, ``envelope`` the bundle's envelope after, ``entry`` the logged entry after; ``log``
    goes to :meth:`SigstoreInstance.log_body`."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    cert = certificate or instance.issue(key, WORKFLOW_IDENTITY, GITHUB_ISSUER)
    env = _envelope(key, STATEMENT)
    logged = rekor_body("intoto/0.0.2", json.dumps(env).encode(), cert)
    body(logged)
    kind = log.pop("kind", "intoto/0.0.2")
    tlog = instance.log_body(rfc8785.dumps(logged), kind, **({"index": 5, "size": 11} | log))
    entry(tlog)
    envelope(env)
    der = {"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))}
    material: dict[str, Any] = {"tlogEntries": [tlog]}
    if version == "v0.3":
        material["certificate"] = der
    else:
        material["x509CertificateChain"] = {"certificates": [der]}
    bundle = {"mediaType": MEDIA_TYPES[version], "verificationMaterial": material}
    return json.dumps(bundle | {"dsseEnvelope": env}).encode()


def policy(tmp_path: Path, instance: SigstoreInstance, legacy: str = "[intoto/0.0.2]") -> Path:
    root = instance.write_trusted_root(tmp_path / "private.trusted_root.json")
    opt_in = f"    legacy_log_entries: {legacy}\n" if legacy else ""
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"trusted_roots:\n  - name: private\n    trusted_root: {root}\n{opt_in}"
        f"identities:\n  - issuer: {GITHUB_ISSUER}\n    subject: {WORKFLOW_IDENTITY}\n"
        "    roots: [private]\n"
    )
    return path


@pytest.fixture(scope="module")
def instance() -> SigstoreInstance:
    return SigstoreInstance()


def verify(
    tmp_path: Path, instance: SigstoreInstance, bundle: bytes, legacy: str = "[intoto/0.0.2]"
) -> Outcome:
    return verify_document(bundle, load_policy(policy(tmp_path, instance, legacy)))


@pytest.mark.parametrize("version", sorted(MEDIA_TYPES))
def test_an_intoto_entry_verifies_under_a_root_that_opts_in(
    tmp_path: Path, instance: SigstoreInstance, version: str
) -> None:
    outcome = verify(tmp_path, instance, intoto_bundle(instance, version=version))
    assert (outcome.status, outcome.reason, outcome.detail) == (VERIFIED, None, None)
    assert (outcome.signer, outcome.issuer) == (WORKFLOW_IDENTITY, GITHUB_ISSUER)
    assert outcome.format == f"sigstore-bundle-{version}"
    assert outcome.statement == STATEMENT


def test_the_single_root_form_opts_in_beside_trusted_root(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    root = instance.write_trusted_root(tmp_path / "root.json")
    path = tmp_path / "single.yaml"
    path.write_text(
        f"trusted_root: {root}\nlegacy_log_entries: [intoto/0.0.2]\n"
        f"identities:\n  - issuer: {GITHUB_ISSUER}\n    subject: {WORKFLOW_IDENTITY}\n"
    )
    assert verify_document(intoto_bundle(instance), load_policy(path)).verified


def test_without_the_opt_in_an_intoto_entry_is_unsupported(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    outcome = verify(tmp_path, instance, intoto_bundle(instance), legacy="")
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "unsupported")
    assert "intoto/0.0.2" in (outcome.detail or "")
    assert "legacy_log_entries" in (outcome.detail or "")


def test_the_opt_in_of_another_root_does_not_count(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    """The bundle's CA is in a root that does not opt in; another root of the policy does."""
    other = SigstoreInstance("another test CA")
    mine = instance.write_trusted_root(tmp_path / "mine.json")
    theirs = other.write_trusted_root(tmp_path / "theirs.json")
    path = tmp_path / "two.yaml"
    path.write_text(
        f"trusted_roots:\n  - name: mine\n    trusted_root: {mine}\n"
        f"  - name: theirs\n    trusted_root: {theirs}\n    legacy_log_entries: [intoto/0.0.2]\n"
        f"identities:\n  - issuer: {GITHUB_ISSUER}\n    subject: {WORKFLOW_IDENTITY}\n"
        "    roots: [mine, theirs]\n"
    )
    outcome = verify_document(intoto_bundle(instance), load_policy(path))
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "unsupported")
    assert "mine does not opt in" in (outcome.detail or "")


def _other_payload_hash(body: Body) -> None:
    body["spec"]["content"]["payloadHash"]["value"] = hashlib.sha256(b"other").hexdigest()


def _other_signature(body: Body) -> None:
    payload = json.dumps(STATEMENT).encode()
    other = _sign(ec.generate_private_key(ec.SECP256R1()), payload)
    body["spec"]["content"]["envelope"]["signatures"][0]["sig"] = _b64(other.encode())


def _other_certificate(body: Body) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = SigstoreInstance().issue(key, WORKFLOW_IDENTITY, GITHUB_ISSUER)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    body["spec"]["content"]["envelope"]["signatures"][0]["publicKey"] = _b64(pem)


def _broken_proof(entry: dict[str, Any]) -> None:
    hashes_ = entry["inclusionProof"]["hashes"]
    hashes_[1] = _b64(bytes(32))


def _set_over_another_body(instance: SigstoreInstance) -> Callable[[dict[str, Any]], None]:
    def change(entry: dict[str, Any]) -> None:
        other = instance.log_body(b'{"kind":"intoto"}', "intoto/0.0.2", index=5, size=11)
        entry["inclusionPromise"] = other["inclusionPromise"]

    return change


def _dsse_body(body: Body) -> None:
    """The entry logs the envelope as a dsse/0.0.1 body (the bundle still says intoto)."""
    spec = body["spec"]["content"]
    sigs = spec["envelope"]["signatures"]
    body.clear()
    body.update(
        {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": spec["hash"],
                "payloadHash": spec["payloadHash"],
                "signatures": [
                    {"signature": base64.b64decode(s["sig"]).decode(), "verifier": s["publicKey"]}
                    for s in sigs
                ],
            },
        }
    )


MUTATIONS: dict[str, tuple[Callable[[SigstoreInstance], dict[str, Any]], str]] = {
    "other payload hash": (lambda i: {"body": _other_payload_hash}, "another payload"),
    "other signature": (lambda i: {"body": _other_signature}, "other signatures"),
    "other certificate": (lambda i: {"body": _other_certificate}, "another certificate"),
    "broken inclusion proof": (lambda i: {"entry": _broken_proof}, "inclusion proof"),
    "SET over another body": (
        lambda i: {"entry": _set_over_another_body(i)},
        "signed entry timestamp does not verify",
    ),
    "checkpoint signed by another key": (
        lambda i: {"checkpoint_key": ec.generate_private_key(ec.SECP256R1())},
        "checkpoint",
    ),
    "a dsse/0.0.1 body labelled intoto/0.0.2": (
        lambda i: {"body": _dsse_body},
        "of kind dsse/0.0.1, not intoto/0.0.2",
    ),
    "integrated after the certificate expired": (
        lambda i: {"integrated": datetime.now(UTC) + timedelta(hours=1)},
        "not valid when the log integrated the entry",
    ),
    "an envelope signature that does not verify (logged as it is)": (
        lambda i: {"key": ec.generate_private_key(ec.SECP256R1())},
        "does not verify with the certificate's key",
    ),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_mutated_intoto_entry_is_not_verified(
    tmp_path: Path, instance: SigstoreInstance, name: str
) -> None:
    make, why = MUTATIONS[name]
    change = make(instance)
    if "key" in change:  # the certificate is another key's; the envelope is signed by `key`
        other = ec.generate_private_key(ec.SECP256R1())
        change["certificate"] = instance.issue(other, WORKFLOW_IDENTITY, GITHUB_ISSUER)
    outcome = verify(tmp_path, instance, intoto_bundle(instance, **change))
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature"), outcome.detail
    assert why in (outcome.detail or ""), outcome.detail


def test_a_certificate_without_an_sct_is_not_verified(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC) - timedelta(seconds=5)
    bare = instance._leaf(
        key, WORKFLOW_IDENTITY, GITHUB_ISSUER, now, x509.random_serial_number(), None
    )
    outcome = verify(tmp_path, instance, intoto_bundle(instance, certificate=bare, key=key))
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature")
    assert "SCT" in (outcome.detail or "")


def test_an_intoto_body_labelled_dsse_is_not_verified(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    """The other way round: the bundle says dsse/0.0.1 (sigstore-python's kind), the log holds
    an intoto/0.0.2 body; the opt-in does not apply and the body does not match."""
    outcome = verify(tmp_path, instance, intoto_bundle(instance, kind="dsse/0.0.1"))
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature")


def test_an_envelope_changed_after_logging_is_not_verified(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    """The bundle's envelope carries another statement, signed by the same key: the signature
    is valid, but the log vouches for another payload."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = instance.issue(key, WORKFLOW_IDENTITY, GITHUB_ISSUER)
    other = _envelope(key, STATEMENT | {"predicate": {"forged": True}})
    bundle = json.loads(intoto_bundle(instance, certificate=cert, key=key))
    bundle["dsseEnvelope"] = other
    outcome = verify(tmp_path, instance, json.dumps(bundle).encode())
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature")
    assert "another payload" in (outcome.detail or "")


def test_the_real_sigstore_js_intoto_bundle_verifies_when_opted_in(
    tmp_path: Path, corpus: Path
) -> None:
    """The corpus's public-good bundle (2023, intoto/0.0.2): not verified under the corpus's
    default policy (tests/integration/test_corpus_verify.py), verified once the root opts in."""
    raw = next(corpus_documents(corpus, "sigstore-js.bundleV03-intoto.sigstore.json"))[1]
    path = tmp_path / "policy.yaml"
    root = corpus / "keys" / "sigstore-prod.trusted_root.json"
    path.write_text(
        f"trusted_root: {root}\nlegacy_log_entries: [intoto/0.0.2]\n"
        "identities:\n  - issuer: https://github.com/login/oauth\n    subject: brian@dehamer.com\n"
    )
    outcome = verify_document(raw, load_policy(path))
    assert (outcome.status, outcome.signer) == (VERIFIED, "brian@dehamer.com")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("    legacy_log_entries: [intoto/0.0.1]\n", "'intoto/0.0.1' is not a legacy log entry"),
        ("    legacy_log_entries: intoto/0.0.2\n", "must be a list of log entry kinds"),
        ("    legacy_log_entries: [dsse/0.0.1]\n", "only intoto/0.0.2"),
    ],
)
def test_a_bad_legacy_log_entries_field_is_a_clear_policy_error(
    tmp_path: Path, instance: SigstoreInstance, entry: str, message: str
) -> None:
    path = policy(tmp_path, instance, legacy="")
    text = path.read_text().replace("identities:", entry.rstrip("\n") + "\nidentities:", 1)
    path.write_text(text)
    with pytest.raises(
        TrustPolicyError, match=re.escape("trusted_roots[0].legacy_log_entries")
    ) as err:
        load_policy(path)
    assert message in str(err.value)


def test_legacy_log_entries_beside_trusted_roots_is_refused(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    path = policy(tmp_path, instance, legacy="")
    path.write_text(path.read_text() + "legacy_log_entries: [intoto/0.0.2]\n")
    with pytest.raises(TrustPolicyError, match="give legacy_log_entries on the root entry"):
        load_policy(path)


def test_the_opt_in_changes_the_policy_digest(tmp_path: Path, instance: SigstoreInstance) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    off = load_policy(policy(tmp_path / "a", instance, legacy=""))
    on = load_policy(policy(tmp_path / "b", instance))
    assert off.digest != on.digest
