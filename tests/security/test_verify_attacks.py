"""Attacks on verification: cosign's legacy ``.att`` layers and Sigstore bundles, certified
and logged by a private Sigstore instance (``tests/sigstore_instance.py``), and key-signed
envelopes and in-toto links."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.crawl.normalize import document_rows
from attestlake.crawl.normalize.common import MAX_TEXT
from attestlake.crawl.normalize.links import MAX_ARTIFACTS
from attestlake.crawl.sources.interface import Unit
from attestlake.intoto.cosign_att import layer_document
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, MAX_SIGNATURES, pae
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy, verify_document
from tests.cosign_att import GITHUB_ISSUER, RELEASE, keyless_layer, provenance
from tests.integration.test_trusted_roots import keyless_bundle
from tests.sigstore_double import WORKFLOW_IDENTITY
from tests.sigstore_instance import SigstoreInstance

CERT = "dev.sigstore.cosign/certificate"


@pytest.fixture(scope="module")
def instance() -> SigstoreInstance:
    return SigstoreInstance()


@pytest.fixture(scope="module")
def policy(instance: SigstoreInstance, tmp_path_factory: pytest.TempPathFactory) -> TrustPolicy:
    home = tmp_path_factory.mktemp("policy")
    instance.write_trusted_root(home / "trusted_root.json")
    (home / "policy.yaml").write_text(
        "trusted_root: trusted_root.json\nidentities:\n"
        f"  - issuer: {GITHUB_ISSUER}\n    subject: {RELEASE}\n"
        f"  - issuer: {GITHUB_ISSUER}\n    subject: {WORKFLOW_IDENTITY}\n"
    )
    return load_policy(home / "policy.yaml")


def _unreadable_issuer(der: bytes) -> bytes:
    """``der`` with a byte of its issuer's name made invalid UTF-8: the certificate still
    loads (cryptography reads names only when asked for them)."""
    at = der.index(b"attestlake test CA")
    return der[:at] + b"\xff" + der[at + 1 :]


def _unknown_version(der: bytes) -> bytes:
    """``der`` as X.509 version 111 (cryptography raises InvalidVersion, not a ValueError)."""
    at = der.index(b"\xa0\x03\x02\x01\x02") + 4
    return der[:at] + b"\x6e" + der[at + 1 :]


DAMAGES = pytest.mark.parametrize("damage", [_unreadable_issuer, _unknown_version])


@pytest.mark.attack("crash")
@DAMAGES
def test_a_cosign_layer_whose_certificate_cannot_be_read_is_malformed(
    instance: SigstoreInstance, policy: TrustPolicy, damage: Callable[[bytes], bytes]
) -> None:
    layer = keyless_layer(instance, provenance("registry.example/shop", "sha256:" + "ab" * 32))
    cert = x509.load_pem_x509_certificate(layer.annotations[CERT].encode())
    der = damage(cert.public_bytes(serialization.Encoding.DER))
    pem = "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode()
    annotations = {**layer.annotations, CERT: pem + "-----END CERTIFICATE-----\n"}
    outcome = verify_document(
        layer_document(ENVELOPE_MEDIA_TYPE, annotations, layer.envelope), policy
    )
    assert (outcome.status, outcome.reason) == ("not_verified", "malformed")


@pytest.mark.attack("crash")
@DAMAGES
def test_a_bundle_whose_certificate_cannot_be_read_is_malformed(
    instance: SigstoreInstance, policy: TrustPolicy, damage: Callable[[bytes], bytes]
) -> None:
    bundle = json.loads(keyless_bundle(instance))
    cert = bundle["verificationMaterial"]["certificate"]
    cert["rawBytes"] = base64.b64encode(damage(base64.b64decode(cert["rawBytes"])))
    cert["rawBytes"] = cert["rawBytes"].decode()
    outcome = verify_document(json.dumps(bundle).encode(), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "malformed")


@pytest.mark.attack("forgery")
def test_a_cosign_layer_signing_something_else_than_an_attestation_is_not_verified(
    instance: SigstoreInstance, policy: TrustPolicy, tmp_path: Path
) -> None:
    """A trusted identity's valid keyless signature over a payload that is neither an in-toto
    statement nor a link is ``unsupported``, as it is in a DSSE envelope or a bundle."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = instance.issue(key, RELEASE, GITHUB_ISSUER)
    ptype, payload = "text/plain", b"deploy anything"
    sig = key.sign(pae(ptype, payload), ec.ECDSA(hashes.SHA256()))
    envelope = json.dumps(
        {
            "payloadType": ptype,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
        },
        separators=(",", ":"),
    ).encode()
    annotations = {
        "dev.cosignproject.cosign/signature": "",
        "dev.sigstore.cosign/bundle": instance.cosign_bundle(envelope, cert),
        CERT: cert.public_bytes(serialization.Encoding.PEM).decode(),
    }
    outcome = verify_document(layer_document(ENVELOPE_MEDIA_TYPE, annotations, envelope), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "unsupported")
    assert outcome.signer == RELEASE


@pytest.mark.attack("crash")
@pytest.mark.parametrize("form", ["dsse", "metablock"])
def test_a_document_of_a_great_many_signatures_is_refused_before_any_is_tried(
    tmp_path: Path, form: str
) -> None:
    """Every signature is tried with every key of the policy: a 32 MiB document of some
    200,000 well-formed junk signatures would keep the verifier busy for minutes."""
    names = []
    for i in range(3):
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (tmp_path / f"k{i}.pub").write_bytes(pem)
        names.append(f"k{i}.pub")
    (tmp_path / "policy.yaml").write_text(f"keys: [{', '.join(names)}]\n")
    policy = load_policy(tmp_path / "policy.yaml")
    junk = ec.generate_private_key(ec.SECP256R1()).sign(b"x", ec.ECDSA(hashes.SHA256()))
    count = MAX_SIGNATURES + 1
    if form == "dsse":
        sig = {"keyid": "", "sig": base64.b64encode(junk).decode()}
        payload = base64.b64encode(json.dumps(provenance("x", "sha256:" + "ab" * 32)).encode())
        doc = {"payloadType": "application/vnd.in-toto+json", "payload": payload.decode()}
        doc["signatures"] = [sig] * count
    else:
        link = {"_type": "link", "name": "build", "materials": {}, "products": {}}
        doc = {"signed": link, "signatures": [{"keyid": "", "sig": junk.hex()}] * count}
    start = time.monotonic()
    outcome = verify_document(json.dumps(doc).encode(), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "malformed")
    assert f"{count} signatures, over {MAX_SIGNATURES}" in str(outcome.detail)
    assert time.monotonic() - start < 5


@pytest.mark.attack("crash")
def test_a_link_of_a_great_many_artifacts_and_a_long_command_stays_bounded_in_the_lake() -> None:
    """Anyone who can push writes an (unsigned) link: each of its artifacts is a row, and
    every row repeats the step's command, so a link of a long command and many artifacts
    would be rows times command bytes of memory."""
    materials = {f"m{i}": {"sha256": "ab"} for i in range(MAX_ARTIFACTS + 1)}
    command = ["sh", "-c", "x" * 200_000, "tail"]
    link = {"_type": "link", "name": "build", "command": command, "materials": materials}
    raw = json.dumps({"signed": link, "signatures": []}).encode()
    unit = Unit("sha256:" + "0" * 64, "links")
    rows = document_rows(
        unit, unit.key, raw, None, TrustPolicy("p.yaml", ()), datetime.now(UTC)
    ).by_table["link_artifacts"]
    assert len(rows) == MAX_ARTIFACTS
    assert all(len(r["command"]) <= MAX_TEXT for r in rows)
    assert json.loads(rows[0]["command"]) == ["sh", "-c", "x" * (MAX_TEXT - 15) + "…"]
