"""Notation (Notary Project) signatures beside attestlake's own records: found in a real
registry as referrers of an image, recorded as found and ``unsupported``, never an error, never
trusted; the records beside them still verify.

The signatures are shaped as ``notation sign`` makes them, and really signed: an RSA-PSS JWS
(``application/jose+json``, JSON serialisation, with an X.509 chain) in an OCI 1.1 referrer
(``artifactType``), and a COSE_Sign1 (``application/cose``, CBOR encoded by cbor2) in the
OCI 1.0 form Notation writes for registries without the referrers API (config media type
``application/vnd.cncf.notary.signature``), both listed in the image's ``sha256-<hex>``
referrers index beside attestlake's bundles.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from attestlake.store import Descriptor, Manifest
from attestlake.store.oci import EMPTY_CONFIG, EMPTY_JSON, referrers_tag
from attestlake.store.registry import RegistryStore
from attestlake.verify.outcome import NOT_VERIFIED
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import verify_document
from tests.integration.cli_helpers import run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_bundle_referrers import Pushed, _attest, _new

NOTARY = "application/vnd.cncf.notary.signature"
PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json"
MANIFEST_V1 = "application/vnd.oci.image.manifest.v1+json"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(65537, 3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wabbit-networks.io")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def _pss(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
    return key.sign(data, pss, hashes.SHA256())


def notation_payload(image: Descriptor) -> bytes:
    return json.dumps({"targetArtifact": image.to_json()}, separators=(",", ":")).encode()


def notation_jws(image: Descriptor) -> bytes:
    """A Notary Project JWS envelope (JSON serialisation, signing scheme notary.x509)."""
    key, cert = signing_key()
    protected = {
        "alg": "PS256",
        "crit": ["io.cncf.notary.signingScheme"],
        "cty": PAYLOAD_TYPE,
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    header_b64 = _b64url(json.dumps(protected).encode())
    payload_b64 = _b64url(notation_payload(image))
    signature = _pss(key, f"{header_b64}.{payload_b64}".encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    return json.dumps(
        {
            "payload": payload_b64,
            "protected": header_b64,
            "header": {
                "x5c": [base64.b64encode(der).decode()],
                "io.cncf.notary.signingAgent": "notation-go/1.3.0",
            },
            "signature": _b64url(signature),
        }
    ).encode()


def notation_cose(image: Descriptor) -> bytes:
    """A Notary Project COSE_Sign1 envelope (tag 18), signed as RFC 9052 says."""
    key, cert = signing_key()
    protected = cbor2.dumps(
        {
            1: -37,  # PS256
            2: ["io.cncf.notary.signingScheme"],
            3: PAYLOAD_TYPE,
            "io.cncf.notary.signingScheme": "notary.x509",
            "io.cncf.notary.signingTime": cbor2.CBORTag(1, int(datetime.now(UTC).timestamp())),
        }
    )
    payload = notation_payload(image)
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    unprotected = {
        33: [cert.public_bytes(serialization.Encoding.DER)],
        "io.cncf.notary.signingAgent": "notation-go/1.3.0",
    }
    body = [protected, unprotected, payload, _pss(key, to_sign)]
    return bytes(cbor2.dumps(cbor2.CBORTag(18, body)))


def push_notation_signature(
    pushed: Pushed, media_type: str, envelope: bytes, *, oci_1_1: bool
) -> str:
    """Push a signature of the image as Notation does without the referrers API: the manifest
    by digest, then its descriptor added to the image's ``sha256-<hex>`` referrers index."""
    repo = RegistryStore(pushed.registry.url, pushed.repository)
    try:
        layer = repo.put_blob(envelope, media_type)
        image = repo.head_manifest(pushed.image_digest)
        if oci_1_1:
            repo.put_blob(EMPTY_JSON, "application/vnd.oci.empty.v1+json")
            config, artifact_type = EMPTY_CONFIG.to_json(), {"artifactType": NOTARY}
        else:
            blob = repo.put_blob(b"{}", NOTARY)
            config, artifact_type = Descriptor(NOTARY, blob.digest, blob.size).to_json(), {}
        annotations = {
            "io.cncf.notary.x509chain.thumbprint#S256": '["' + "ab" * 32 + '"]',
            "org.opencontainers.image.created": "2026-12-01T10:00:00Z",
        }
        body = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V1,
            **artifact_type,
            "config": config,
            "layers": [Descriptor(media_type, layer.digest, layer.size).to_json()],
            "subject": image.to_json(),
            "annotations": annotations,
        }
        manifest = Manifest.parse(json.dumps(body).encode())
        assert not repo.put_referrer(manifest)  # docker-registry 2.8: no referrers API
        index = pushed.index()
        entry = {
            "mediaType": MANIFEST_V1,
            "digest": manifest.digest,
            "size": len(manifest.raw),
            "artifactType": NOTARY,
            "annotations": annotations,
        }
        index["manifests"].append(entry)
        repo.put_index(json.dumps(index).encode(), referrers_tag(pushed.image_digest))
        return manifest.digest
    finally:
        repo.close()


def _image(pushed: Pushed) -> Descriptor:
    repo = RegistryStore(pushed.registry.url, pushed.repository)
    try:
        return repo.head_manifest(pushed.image_digest)
    finally:
        repo.close()


@pytest.mark.registry
def test_notation_signatures_beside_attestlake_s_records_are_recorded_unsupported(
    tmp_path: Path, registry: RegistryServer
) -> None:
    pushed = _new(tmp_path, registry)
    _attest(tmp_path, pushed)
    image = _image(pushed)
    jws = push_notation_signature(
        pushed, "application/jose+json", notation_jws(image), oci_1_1=True
    )
    cose = push_notation_signature(pushed, "application/cose", notation_cose(image), oci_1_1=False)
    kinds = [e.get("artifactType") for e in pushed.index()["manifests"]]
    assert (
        kinds.count(NOTARY) == 2
        and kinds.count("application/vnd.dev.sigstore.bundle.v0.3+json") == 2
    )

    host_glob = f"{registry.host}/{pushed.repository.removesuffix('/app')}/*"
    crawl = run_cli(
        tmp_path, "crawl", "--from", host_glob, "--lake", "lake", "--trust", "trust.yaml"
    )
    assert crawl.code == 0, crawl.err
    out = run_cli(
        tmp_path, "sql", "--lake", "lake", "--format", "json",
        "SELECT manifest_digest, source, status, reason, format, detail FROM verifications "
        "WHERE format LIKE 'notation-%' ORDER BY format",
    )  # fmt: skip
    assert out.code == 0, out.err
    rows: list[dict[str, Any]] = out.json()
    assert [(r["manifest_digest"], r["format"]) for r in rows] == [
        (cose, "notation-cose"),
        (jws, "notation-jws"),
    ]
    for row in rows:
        assert (row["status"], row["reason"]) == (NOT_VERIFIED, "unsupported")
        assert row["source"] == f"{registry.url}/{pushed.repository}@{pushed.image_digest}"
        assert row["detail"].startswith("a Notation signature (")
        assert "never trusted" in row["detail"]
    assert f"over {pushed.image_digest}:" in rows[1]["detail"]
    # attestlake's own record (in its store) and referrers (beside the signatures) verify
    counts = run_cli(
        tmp_path, "sql", "--lake", "lake", "--format", "csv",
        "SELECT status, format, predicate_type, source LIKE '%@%' AS referrer, count(*) AS n "
        "FROM verifications WHERE format NOT LIKE 'notation-%' GROUP BY ALL ORDER BY ALL",
    )  # fmt: skip
    assert counts.out.splitlines() == [
        "status,format,predicate_type,referrer,n",
        "verified,dsse,https://attestlake.dev/attestation/run/v1,false,2",  # started, final
        "verified,dsse,https://slsa.dev/provenance/v1,false,1",
        "verified,sigstore-bundle-v0.3,https://attestlake.dev/attestation/run/v1,true,1",
        "verified,sigstore-bundle-v0.3,https://slsa.dev/provenance/v1,true,1",
    ]
    assert run_cli(tmp_path, "lake", "check", "--lake", "lake").code == 0


def _jws_obj() -> dict[str, Any]:
    image = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "c" * 64, 7)
    loaded: dict[str, Any] = json.loads(notation_jws(image))
    return loaded


def _verify(raw: bytes) -> tuple[str, str | None, str | None, str | None]:
    o = verify_document(raw, TrustPolicy("policy.yaml", ()))
    return o.status, o.reason, o.format, o.detail


def test_a_notation_signature_file_is_unsupported_whatever_the_policy() -> None:
    image = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "c" * 64, 7)
    status, reason, fmt, detail = _verify(notation_jws(image))
    assert (status, reason, fmt) == (NOT_VERIFIED, "unsupported", "notation-jws")
    assert detail is not None and f"over sha256:{'c' * 64}:" in detail
    status, reason, fmt, _ = _verify(notation_cose(image))
    assert (status, reason, fmt) == (NOT_VERIFIED, "unsupported", "notation-cose")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        # another JWS (not Notation's payload type): none of the supported documents
        (lambda o: o.update(protected=_b64url(b'{"alg":"ES256","cty":"text/plain"}')), None),
        (lambda o: o.update(protected="!!!not base64!!!"), None),
        (lambda o: o.update(protected=7), None),
        # a Notation JWS whose payload is garbage still is one, with no target named
        (lambda o: o.update(payload="bm90IGpzb24"), "notation-jws"),
        (lambda o: o.update(payload=["x"]), "notation-jws"),
    ],
)
def test_hostile_jws_documents_are_outcomes(mutate: Any, expected: str | None) -> None:
    obj = _jws_obj()
    mutate(obj)
    status, reason, fmt, detail = _verify(json.dumps(obj).encode())
    assert (status, reason, fmt) == (NOT_VERIFIED, "unsupported", expected)
    if expected is None:
        assert detail == "not a DSSE envelope, Sigstore bundle or in-toto statement"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xd2\x84",  # truncated COSE_Sign1
        b"\xd2\x84\x5a\xff\xff\xff\xff",  # a protected header longer than the document
        b"\xd2\x84\x5f\x00",  # indefinite length
        b"\xd2\x84\x43abc\xa0\xf6\x40",  # a COSE_Sign1 that is not Notation's
        bytes(range(256)),
    ],
)
def test_hostile_binary_documents_are_malformed(raw: bytes) -> None:
    status, reason, fmt, _ = _verify(raw)
    assert (status, reason, fmt) == (NOT_VERIFIED, "malformed", None)


def test_verify_cli_says_a_notation_signature_is_unsupported(tmp_path: Path) -> None:
    image = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "d" * 64, 9)
    (tmp_path / "signature.jws.json").write_bytes(notation_jws(image))
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    result = run_cli(
        tmp_path, "verify", "signature.jws.json", "--trust", "trust.yaml", "-f", "json"
    )
    assert result.code == 1
    (row,) = result.json()
    assert (row["reason"], row["format"]) == ("unsupported", "notation-jws")
