"""npm's attestations: an answer of the registry's ``/-/npm/v1/attestations/<name>@<version>``
endpoint is one document per bundle, each verified like any bundle. The answers are composed
at test time from the corpus's real bundles (the registry mirror here strips attestations):
sigstore-js's npm publish attestation and GitHub's SLSA provenance. npm's registry-key-signed
publish attestation is made here with a real key, named by its npm key id."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from attestlake.signing.keys import KeySigner, generate_key, parse_public_key
from attestlake.verify.trust import npm_keyid
from attestlake.verify.verify import load_policy, verify_document, verify_files
from tests.integration.test_crawl_corpus import corpus_policy

pytestmark = pytest.mark.corpus
PUBLISH = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
SLSA = "https://slsa.dev/provenance/v1"
#: Real bundles of the corpus: an npm publish attestation (keyless), and SLSA provenance v1.
PUBLISH_BUNDLE = "sigstore-js.bundleV03-dsse.sigstore.json"
SLSA_BUNDLE = "gh.reusable-workflow-attestation.sigstore.json"


def entry(bundle: dict[str, Any]) -> dict[str, Any]:
    """One attestation of an answer: the bundle and its statement's predicate type."""
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return {"predicateType": statement["predicateType"], "bundle": bundle}


def bundle_of(corpus: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((corpus / name).read_text(encoding="utf-8"))
    return loaded


def answer(corpus: Path) -> dict[str, Any]:
    return {
        "attestations": [
            entry(bundle_of(corpus, PUBLISH_BUNDLE)),
            entry(bundle_of(corpus, SLSA_BUNDLE)),
        ]
    }


@pytest.fixture(autouse=True)
def _sigstore_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_each_bundle_of_an_answer_is_verified_on_its_own(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "sigstore@3.0.0.attestations.json"
    path.write_text(json.dumps(answer(corpus)), encoding="utf-8")
    policy = load_policy(corpus_policy(corpus, tmp_path))
    results = {r.source.removeprefix(str(path)): r.outcome for r in verify_files([path], policy)}
    assert sorted(results) == ["#/attestations/0", "#/attestations/1"]
    publish, slsa = results["#/attestations/0"], results["#/attestations/1"]
    assert (publish.status, publish.format, publish.predicate_type) == (
        "verified",
        "npm-attestation",
        PUBLISH,
    )
    assert (publish.signer, publish.issuer) == (
        "brian@dehamer.com",
        "https://github.com/login/oauth",
    )
    assert (slsa.status, slsa.format, slsa.predicate_type) == ("verified", "npm-attestation", SLSA)
    assert slsa.issuer == "https://token.actions.githubusercontent.com"


def test_an_untrusted_publisher_is_reported_per_bundle(corpus: Path, tmp_path: Path) -> None:
    doc = {"attestations": [entry(bundle_of(corpus, SLSA_BUNDLE))]}
    policy_path = tmp_path / "other.yaml"
    root = corpus / "keys" / "sigstore-prod.trusted_root.json"
    policy_path.write_text(
        f"trusted_root: {root}\nidentities:\n"
        "  - {issuer: https://token.actions.githubusercontent.com, subject: https://x.example/}\n"
    )
    outcome = verify_document(json.dumps(doc).encode(), load_policy(policy_path))
    assert (outcome.status, outcome.reason, outcome.format) == (
        "not_verified",
        "untrusted_signer",
        "npm-attestation",
    )


def test_declared_predicate_type_must_be_the_signed_one(corpus: Path, tmp_path: Path) -> None:
    doc = {"attestations": [{**entry(bundle_of(corpus, SLSA_BUNDLE)), "predicateType": PUBLISH}]}
    policy = load_policy(corpus_policy(corpus, tmp_path))
    outcome = verify_document(json.dumps(doc).encode(), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "malformed")
    assert outcome.detail is not None and "signed statement says" in outcome.detail


def registry_signed(tmp_path: Path, statement: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """An npm publish attestation as the registry signs it: a bundle naming its key by npm's
    key id in ``publicKey.hint``; and that key's PEM file."""
    private, public = generate_key()
    (tmp_path / "npm.key").write_bytes(private)
    (tmp_path / "npm.pub.pem").write_bytes(public)
    keyid = npm_keyid(parse_public_key(public))
    envelope = KeySigner.from_file(tmp_path / "npm.key").sign_envelope(
        "application/vnd.in-toto+json", json.dumps(statement).encode()
    )
    dsse = json.loads(envelope.to_json_bytes())
    dsse["signatures"][0]["keyid"] = keyid
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "verificationMaterial": {"publicKey": {"hint": keyid}, "tlogEntries": []},
        "dsseEnvelope": dsse,
    }
    return {
        "attestations": [{"predicateType": PUBLISH, "bundle": bundle}]
    }, tmp_path / "npm.pub.pem"


def test_registry_signed_publish_attestation_verifies_with_npm_key(tmp_path: Path) -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "pkg:npm/left-pad@1.3.0", "digest": {"sha512": "ab" * 64}}],
        "predicateType": PUBLISH,
        "predicate": {
            "name": "left-pad",
            "version": "1.3.0",
            "registry": "https://registry.npmjs.org",
        },
    }
    doc, key = registry_signed(tmp_path, statement)
    trusting = tmp_path / "npm.yaml"
    trusting.write_text(f"keys:\n  - path: {key}\n")
    outcome = verify_document(json.dumps(doc).encode(), load_policy(trusting))
    assert (outcome.status, outcome.format, outcome.signer) == (
        "verified",
        "npm-attestation",
        str(key),
    )
    # without npm's key: the signer is named by npm's key id, and not trusted
    _, other_public = generate_key()
    (tmp_path / "other.pub.pem").write_bytes(other_public)
    untrusting = tmp_path / "other.yaml"
    untrusting.write_text(f"keys:\n  - path: {tmp_path / 'other.pub.pem'}\n")
    outcome = verify_document(json.dumps(doc).encode(), load_policy(untrusting))
    assert (outcome.status, outcome.reason) == ("not_verified", "untrusted_signer")
    hint = doc["attestations"][0]["bundle"]["verificationMaterial"]["publicKey"]["hint"]
    assert hint.startswith("SHA256:") and outcome.key_id == hint
    # a changed statement: a bad signature by the key its npm key id names
    dsse = doc["attestations"][0]["bundle"]["dsseEnvelope"]
    changed = {
        **statement,
        "subject": [{"name": "pkg:npm/evil@1.0.0", "digest": {"sha512": "cd" * 64}}],
    }
    dsse["payload"] = base64.b64encode(json.dumps(changed).encode()).decode()
    outcome = verify_document(json.dumps(doc).encode(), load_policy(trusting))
    assert (outcome.status, outcome.reason, outcome.signer) == (
        "not_verified",
        "bad_signature",
        str(key),
    )
