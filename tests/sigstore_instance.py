"""A private Sigstore instance in the test process: a Fulcio-like CA, a certificate transparency
log and a Rekor-like transparency log, each with its own key, and the ``trusted_root.json``
that names them. What it issues and logs is real: certificates chained to the CA with an SCT
signed by the CT log, Rekor ``dsse/0.0.1`` entries with an inclusion proof, a signed checkpoint
and a signed entry timestamp, so sigstore-python (and any Sigstore verifier given the trusted
root) verifies a bundle made with it as it verifies one of the public instance. It also logs
envelopes as ``cosign attest`` has Rekor log them (``intoto/0.0.2`` or ``dsse/0.0.1`` entry
bodies, built as Rekor builds them) and answers with cosign's Rekor bundle: the entry and its
signed entry timestamp (:meth:`SigstoreInstance.cosign_bundle`).

Used by :class:`tests.sigstore_double.FakeSigningContext` (``instance=``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sigstore import dsse
from sigstore.models import TransparencyLogEntry
from sigstore_models.rekor.v1 import TransparencyLogEntry as _LogEntry

SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
FULCIO_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
FULCIO_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
ORIGIN = "rekor.test.attestlake - 1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _log_id(key: ec.EllipticCurvePrivateKey) -> bytes:
    return hashlib.sha256(_spki(key.public_key())).digest()


def _der_octets(content: bytes) -> bytes:
    """DER OCTET STRING (short or long length form)."""
    n = len(content)
    length = (
        bytes([n])
        if n < 128
        else bytes([0x80 | ((n.bit_length() + 7) // 8)])
        + (n.to_bytes((n.bit_length() + 7) // 8, "big"))
    )
    return b"\x04" + length + content


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    return b"\x0c" + bytes([len(raw)]) + raw


class SigstoreInstance:
    def __init__(self, ca_name: str = "attestlake test CA") -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.start = datetime.now(UTC) - timedelta(days=1)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ca_name)])
        self.ca_name = ca_name
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.start)
            .not_valid_after(self.start + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.entries = 0

    # -- pickling (worker processes sign with the same instance) ---------------------------
    def __getstate__(self) -> dict[str, Any]:
        def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )

        return {
            "keys": [pem(k) for k in (self.ca_key, self.ct_key, self.rekor_key)],
            "ca": self.ca.public_bytes(serialization.Encoding.DER),
            "start": self.start,
            "entries": self.entries,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        keys = []
        for raw in state["keys"]:
            key = serialization.load_pem_private_key(raw, password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            keys.append(key)
        self.ca_key, self.ct_key, self.rekor_key = keys
        self.ca = x509.load_der_x509_certificate(state["ca"])
        self.start = state["start"]
        self.entries = state["entries"]

    # -- Fulcio and the CT log -------------------------------------------------------------
    def issue(
        self, key: ec.EllipticCurvePrivateKey, identity: str, issuer: str
    ) -> x509.Certificate:
        """A short-lived code-signing certificate for ``identity`` with an embedded SCT."""
        now = datetime.now(UTC) - timedelta(seconds=5)
        serial = x509.random_serial_number()
        precert = self._leaf(key, identity, issuer, now, serial, None)
        sct = self._sct(precert.tbs_certificate_bytes, now)
        return self._leaf(key, identity, issuer, now, serial, sct)

    def _leaf(
        self,
        key: ec.EllipticCurvePrivateKey,
        identity: str,
        issuer: str,
        now: datetime,
        serial: int,
        sct: bytes | None,
    ) -> x509.Certificate:
        ca_ski = self.ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now)
            .not_valid_after(now + timedelta(minutes=10))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]),
                critical=True,
            )
            .add_extension(x509.UnrecognizedExtension(FULCIO_ISSUER_V1, issuer.encode()), False)
            .add_extension(x509.UnrecognizedExtension(FULCIO_ISSUER_V2, _der_utf8(issuer)), False)
        )
        if sct is not None:
            builder = builder.add_extension(x509.UnrecognizedExtension(SCT_OID, sct), False)
        return builder.sign(self.ca_key, hashes.SHA256())

    def _sct(self, tbs: bytes, when: datetime) -> bytes:
        """The SCT list extension value for a precertificate whose TBS is ``tbs``."""
        millis = int(when.timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(_spki(self.ca_key.public_key())).digest()
        entry = issuer_key_hash + len(tbs).to_bytes(3, "big") + tbs
        signed = struct.pack("!BBQH", 0, 0, millis, 1) + entry + struct.pack("!H", 0)
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            bytes([0])
            + _log_id(self.ct_key)
            + struct.pack("!QH", millis, 0)
            + bytes([4, 3])
            + struct.pack("!H", len(signature))
            + signature
        )
        listed = struct.pack("!H", len(sct)) + sct
        return _der_octets(struct.pack("!H", len(listed)) + listed)

    # -- Rekor -----------------------------------------------------------------------------
    def log(self, envelope: dsse.Envelope, certificate: x509.Certificate) -> TransparencyLogEntry:
        """A ``dsse/0.0.1`` entry for ``envelope``, alone in a tree of its own (size 1), with
        its inclusion proof, signed checkpoint and signed entry timestamp."""
        inner = envelope._inner
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(envelope.to_json().encode()).hexdigest(),
                },
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(inner.payload).hexdigest(),
                },
                "signatures": [
                    {"signature": _b64(s.sig), "verifier": _b64(pem)} for s in inner.signatures
                ],
            },
        }
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        self.entries += 1
        return TransparencyLogEntry(_LogEntry.from_dict(self.log_body(canonical, "dsse/0.0.1")))

    def log_body(
        self,
        canonical: bytes,
        kind: str,
        *,
        index: int = 0,
        size: int = 1,
        integrated: datetime | None = None,
        checkpoint_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> dict[str, Any]:
        """A bundle's ``tlogEntries`` item for the entry body ``canonical`` (its bytes as the
        log hashes them) labelled ``kind``: leaf ``index`` of a tree of ``size`` leaves (the
        others random), with its RFC 6962 inclusion proof, the checkpoint of that tree signed
        by the log (or ``checkpoint_key``) and the SET over the entry."""
        leaves = [hashlib.sha256(b"\x00" + os.urandom(16)).digest() for _ in range(size)]
        leaves[index] = hashlib.sha256(b"\x00" + canonical).digest()
        root = merkle_root(leaves)
        note = f"{ORIGIN}\n{size}\n{_b64(root)}\n"
        log_id = _log_id(self.rekor_key)
        note_sig = (checkpoint_key or self.rekor_key).sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 {ORIGIN.split()[0]} {_b64(log_id[:4] + note_sig)}\n"
        name, version = kind.split("/")
        raw: dict[str, Any] = {
            "logIndex": str(index),
            "logId": {"keyId": _b64(log_id)},
            "kindVersion": {"kind": name, "version": version},
            "integratedTime": str(int((integrated or datetime.now(UTC)).timestamp())),
            "inclusionPromise": {"signedEntryTimestamp": _b64(b"unsigned")},
            "inclusionProof": {
                "logIndex": str(index),
                "rootHash": _b64(root),
                "treeSize": str(size),
                "hashes": [_b64(h) for h in merkle_path(index, leaves)],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": _b64(canonical),
        }
        unsigned = TransparencyLogEntry(_LogEntry.from_dict(raw))
        promise = self.rekor_key.sign(unsigned._encode_canonical(), ec.ECDSA(hashes.SHA256()))
        raw["inclusionPromise"] = {"signedEntryTimestamp": _b64(promise)}
        return raw

    # -- Rekor, as cosign's legacy attestations record it -------------------------------------
    def cosign_bundle(
        self,
        envelope: bytes,
        certificate: x509.Certificate,
        *,
        kind: str = "intoto/0.0.2",
        integrated: datetime | None = None,
        log_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        """The ``dev.sigstore.cosign/bundle`` annotation of ``envelope`` (its exact bytes, as
        cosign pushes and uploads them) signed with ``certificate``: a ``kind`` entry body as
        Rekor stores it (RFC 8785 canonical JSON) and the SET over cosign's ``RekorPayload``.
        ``log_key`` signs the SET instead of the log's key (a forged one)."""
        body = rfc8785.dumps(rekor_body(kind, envelope, certificate))
        payload = {
            "body": _b64(body),
            "integratedTime": int((integrated or datetime.now(UTC)).timestamp()),
            "logIndex": self.entries,
            "logID": _log_id(self.rekor_key).hex(),
        }
        self.entries += 1
        signer = log_key or self.rekor_key
        sct = signer.sign(rfc8785.dumps(payload), ec.ECDSA(hashes.SHA256()))
        return json.dumps({"SignedEntryTimestamp": _b64(sct), "Payload": payload})

    # -- the trust root --------------------------------------------------------------------
    def trusted_root(self) -> dict[str, Any]:
        def log(key: ec.EllipticCurvePrivateKey, url: str) -> dict[str, Any]:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(_spki(key.public_key())),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ")},
                },
                "logId": {"keyId": _b64(_log_id(key))},
            }

        der = self.ca.public_bytes(serialization.Encoding.DER)
        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.rekor_key, "https://rekor.test.attestlake")],
            "certificateAuthorities": [
                {
                    "subject": {"organization": self.ca_name, "commonName": ""},
                    "uri": "https://fulcio.test.attestlake",
                    "certChain": {"certificates": [{"rawBytes": _b64(der)}]},
                    "validFor": {"start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ")},
                }
            ],
            "ctlogs": [log(self.ct_key, "https://ctfe.test.attestlake")],
            "timestampAuthorities": [],
        }

    def write_trusted_root(self, path: Path) -> Path:
        path.write_text(json.dumps(self.trusted_root(), indent=1))
        return path


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two below ``n`` (RFC 6962, 2.1)."""
    return 1 << ((n - 1).bit_length() - 1)


def merkle_root(leaves: list[bytes]) -> bytes:
    """The RFC 6962 Merkle tree hash of leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def merkle_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """The RFC 6962 audit path of leaf ``index``, from the leaf's level up."""
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*merkle_path(index, leaves[:k]), merkle_root(leaves[k:])]
    return [*merkle_path(index - k, leaves[k:]), merkle_root(leaves[:k])]


def rekor_body(kind: str, envelope: bytes, certificate: x509.Certificate) -> dict[str, Any]:
    """The entry body Rekor logs for a DSSE ``envelope`` uploaded with ``certificate``:
    ``intoto/0.0.2`` (``pkg/types/intoto/v0.0.2`` in sigstore/rekor: the signature is logged
    as base64 of the envelope's base64 text) or ``dsse/0.0.1`` (``pkg/types/dsse/v0.0.1``)."""
    env = json.loads(envelope)
    pem = _b64(certificate.public_bytes(serialization.Encoding.PEM))
    payload_hash = {
        "algorithm": "sha256",
        "value": hashlib.sha256(base64.b64decode(env["payload"])).hexdigest(),
    }
    envelope_hash = {"algorithm": "sha256", "value": hashlib.sha256(envelope).hexdigest()}
    if kind == "intoto/0.0.2":
        signatures = [
            {"sig": _b64(s["sig"].encode()), "publicKey": pem}
            | ({"keyid": s["keyid"]} if s.get("keyid") else {})
            for s in env["signatures"]
        ]
        spec: dict[str, Any] = {
            "content": {
                "envelope": {"payloadType": env["payloadType"], "signatures": signatures},
                "hash": envelope_hash,
                "payloadHash": payload_hash,
            }
        }
    elif kind == "dsse/0.0.1":
        spec = {
            "envelopeHash": envelope_hash,
            "payloadHash": payload_hash,
            "signatures": sorted(
                ({"signature": s["sig"], "verifier": pem} for s in env["signatures"]),
                key=lambda s: s["signature"],
            ),
        }
    else:
        raise ValueError(f"no such entry kind here: {kind}")
    name, version = kind.split("/")
    return {"apiVersion": version, "kind": name, "spec": spec}
