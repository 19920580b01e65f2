"""Rekor log entry bodies of signed DSSE envelopes, and whether one is the entry of an envelope.

A transparency log entry does not hold the envelope: it holds hashes of it and the signatures
and verifiers (certificate or public key, PEM) the log checked. The kinds that cosign and the
Sigstore clients upload for attestations (``spec`` fields as Rekor stores them):

- ``intoto/0.0.2`` (cosign ``attest``'s default): ``content.hash`` is the sha256 of the
  envelope's bytes as uploaded, ``content.payloadHash`` of its decoded payload, and
  ``content.envelope.signatures[]`` holds each ``sig`` (base64 of the envelope's base64
  signature text) with its ``publicKey`` (base64 of the PEM);
- ``dsse/0.0.1``: ``envelopeHash``, ``payloadHash``, and ``signatures[]`` of ``signature`` (the
  envelope's base64 signature) and ``verifier`` (base64 of the PEM);
- ``intoto/0.0.1`` (cosign 1.x): ``content.hash``, ``content.payloadHash`` (not in the oldest
  entries) and one ``publicKey``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from attestlake._internal.untrusted_base64 import strict_b64
from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError
from attestlake.intoto.dsse import Envelope

#: The entry kinds whose match with a DSSE envelope is checked here.
ENVELOPE_ENTRIES = (("intoto", "0.0.2"), ("dsse", "0.0.1"), ("intoto", "0.0.1"))
#: Bound on a log entry body (entries hold hashes, signatures and certificates).
MAX_BODY_SIZE = 1024 * 1024


@dataclass(frozen=True)
class EntryBody:
    kind: str
    version: str
    #: sha256 (hex) of the envelope's bytes, and of its decoded payload (None: not logged).
    envelope_hash: str | None = None
    payload_hash: str | None = None
    #: The signatures the log checked (raw bytes); None for kinds that do not log them.
    signatures: tuple[bytes, ...] | None = None
    #: The verifiers the log checked: PEM certificates or public keys, as logged.
    verifiers: tuple[bytes, ...] = ()

    @property
    def kind_version(self) -> str:
        return f"{self.kind}/{self.version}"

    @property
    def supported(self) -> bool:
        return (self.kind, self.version) in ENVELOPE_ENTRIES


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContentError(f"log entry {what} is not a JSON object")
    return value


def _b64(value: Any, what: str) -> bytes:
    return strict_b64(value, f"log entry {what}")


def _sha256(value: Any, what: str) -> str | None:
    if value is None:
        return None
    obj = _obj(value, what)
    algorithm, digest = obj.get("algorithm"), obj.get("value")
    if algorithm != "sha256":
        raise ContentError(f"log entry {what} is not a sha256 hash: algorithm {algorithm!r}")
    if not isinstance(digest, str) or len(digest) != 64:
        raise ContentError(f"log entry {what}.value is not a hex sha256")
    try:
        bytes.fromhex(digest)
    except ValueError:
        raise ContentError(f"log entry {what}.value is not a hex sha256") from None
    return digest.lower()


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ContentError(f"log entry {what} is not a non-empty list")
    return value


def _intoto_v2(spec: dict[str, Any]) -> EntryBody:
    content = _obj(spec.get("content"), "spec.content")
    envelope = _obj(content.get("envelope"), "spec.content.envelope")
    sigs, keys = [], []
    for i, item in enumerate(_list(envelope.get("signatures"), "envelope signatures")):
        what = f"spec.content.envelope.signatures[{i}]"
        entry = _obj(item, what)
        text = _b64(entry.get("sig"), f"{what}.sig")  # the envelope's base64 signature text
        sigs.append(_b64(text.decode("ascii", errors="replace"), f"{what}.sig (decoded)"))
        keys.append(_b64(entry.get("publicKey"), f"{what}.publicKey"))
    return EntryBody(
        "intoto",
        "0.0.2",
        _sha256(content.get("hash"), "spec.content.hash"),
        _sha256(content.get("payloadHash"), "spec.content.payloadHash"),
        tuple(sigs),
        tuple(keys),
    )


def _dsse_v1(spec: dict[str, Any]) -> EntryBody:
    sigs, keys = [], []
    for i, item in enumerate(_list(spec.get("signatures"), "spec.signatures")):
        entry = _obj(item, f"spec.signatures[{i}]")
        sigs.append(_b64(entry.get("signature"), f"spec.signatures[{i}].signature"))
        keys.append(_b64(entry.get("verifier"), f"spec.signatures[{i}].verifier"))
    return EntryBody(
        "dsse",
        "0.0.1",
        _sha256(spec.get("envelopeHash"), "spec.envelopeHash"),
        _sha256(spec.get("payloadHash"), "spec.payloadHash"),
        tuple(sigs),
        tuple(keys),
    )


def _intoto_v1(spec: dict[str, Any]) -> EntryBody:
    content = _obj(spec.get("content"), "spec.content")
    return EntryBody(
        "intoto",
        "0.0.1",
        _sha256(content.get("hash"), "spec.content.hash"),
        _sha256(content.get("payloadHash"), "spec.content.payloadHash"),
        None,
        (_b64(spec.get("publicKey"), "spec.publicKey"),),
    )


def parse_entry_body(encoded: str) -> EntryBody:
    """The entry body logged as ``encoded`` (base64 of its canonical JSON). ContentError when
    it is malformed; an entry of another kind is returned with only its kind and version."""
    body = loads(_b64(encoded, "body"), max_bytes=MAX_BODY_SIZE, what="log entry body")
    body = _obj(body, "body")
    kind, version = body.get("kind"), body.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(version, str):
        raise ContentError("log entry body has no kind and apiVersion")
    parse = {
        ("intoto", "0.0.2"): _intoto_v2,
        ("dsse", "0.0.1"): _dsse_v1,
        ("intoto", "0.0.1"): _intoto_v1,
    }.get((kind, version))
    if parse is None:
        return EntryBody(kind, version)
    return parse(_obj(body.get("spec"), "spec"))


def _certificate_der(pem: bytes) -> bytes | None:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except (ValueError, x509.InvalidVersion):
        return None
    return certs[0].public_bytes(serialization.Encoding.DER) if len(certs) == 1 else None


def envelope_mismatch(
    entry: EntryBody, layer: bytes | None, envelope: Envelope, certificate: x509.Certificate
) -> str | None:
    """Why ``entry`` is not the log entry of ``envelope`` (whose exact bytes are ``layer``)
    signed with ``certificate``, or None when it is. ``layer`` None: the envelope's uploaded
    bytes are not known (a Sigstore bundle holds the envelope re-serialised), so the entry's
    envelope hash is not compared; its payload hash, signatures and verifier still are."""
    name = entry.kind_version
    if layer is not None and entry.envelope_hash != hashlib.sha256(layer).hexdigest():
        return f"the {name} log entry is of another envelope (its envelope hash differs)"
    payload = hashlib.sha256(envelope.payload).hexdigest()
    if entry.payload_hash is None and entry.kind_version != "intoto/0.0.1":
        return f"the {name} log entry has no payload hash"
    if entry.payload_hash is not None and entry.payload_hash != payload:
        return f"the {name} log entry is of another payload (its payload hash differs)"
    if entry.signatures is not None and set(entry.signatures) != {
        s.sig for s in envelope.signatures
    }:
        return f"the {name} log entry logs other signatures than the envelope's"
    der = certificate.public_bytes(serialization.Encoding.DER)
    if der not in {_certificate_der(pem) for pem in entry.verifiers}:
        return f"the {name} log entry was logged with another certificate or key"
    return None
