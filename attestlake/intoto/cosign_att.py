"""cosign's legacy attestations: the layers of an image's ``sha256-<hex>.att`` manifest.

``cosign attest`` (v1 and v2) pushes each attestation as a layer of media type
``application/vnd.dsse.envelope.v1+json`` holding the DSSE envelope, and puts what verifies
it in the layer's annotations (``pkg/oci/static`` in sigstore/cosign):

- ``dev.sigstore.cosign/certificate``: the signing certificate (PEM; empty or absent when
  the attestation was signed with a key), ``dev.sigstore.cosign/chain`` its issuers (PEM);
- ``dev.sigstore.cosign/bundle``: the Rekor entry as cosign keeps it,
  ``{"SignedEntryTimestamp": base64, "Payload": {"body", "integratedTime", "logIndex",
  "logID"}}``: the entry body (base64), and the log's signature (the SET) over the canonical
  JSON of the payload;
- ``dev.cosignproject.cosign/signature``: empty for attestations (the signature is in the
  envelope), ``dev.sigstore.cosign/rfc3161timestamp`` a timestamp authority's answer.

The layer bytes alone cannot be verified, so a crawl records a layer as one document with its
annotations: the layer's OCI descriptor as its manifest lists it, with the layer's bytes
embedded in the descriptor's ``data`` field (OCI image-spec, *Descriptors*). This module writes
(:func:`layer_document`) and reads (:func:`parse_cosign_layer`) that document.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from attestlake._internal.untrusted_base64 import strict_b64
from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError
from attestlake.intoto.certificates import with_readable_names
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, Envelope
from attestlake.intoto.rekor_entry import MAX_BODY_SIZE, EntryBody, parse_entry_body

FORMAT = "cosign-legacy-att"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
TIMESTAMP_ANNOTATION = "dev.sigstore.cosign/rfc3161timestamp"
_COSIGN_PREFIXES = ("dev.sigstore.cosign/", "dev.cosignproject.cosign/")
_INT64 = 1 << 63


def is_cosign_layer(media_type: str, annotations: Mapping[str, str]) -> bool:
    """Whether a layer is one of cosign's: a DSSE envelope with cosign's annotations."""
    return media_type == ENVELOPE_MEDIA_TYPE and any(
        key.startswith(_COSIGN_PREFIXES) for key in annotations
    )


def layer_document(media_type: str, annotations: Mapping[str, str], data: bytes) -> bytes:
    """The document of one layer: its descriptor with its bytes embedded (``data``)."""
    descriptor = {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "annotations": dict(annotations),
        "data": base64.b64encode(data).decode(),
    }
    return json.dumps(descriptor, sort_keys=True, separators=(",", ":")).encode()


def is_layer_document(obj: dict[str, Any]) -> bool:
    return obj.get("mediaType") == ENVELOPE_MEDIA_TYPE and "data" in obj and "digest" in obj


@dataclass(frozen=True)
class RekorBundle:
    """The ``dev.sigstore.cosign/bundle`` annotation: a log entry and its signed timestamp."""

    signed_entry_timestamp: bytes
    body: str
    integrated_time: int
    log_index: int
    log_id: bytes

    @property
    def integrated_at(self) -> datetime:
        return datetime.fromtimestamp(self.integrated_time, UTC)

    def signed_payload(self) -> bytes:
        """What the SET signs: the RFC 8785 canonical JSON of the payload (its keys sorted,
        no spaces; its strings are base64 and hex, so nothing to escape)."""
        payload = {
            "body": self.body,
            "integratedTime": self.integrated_time,
            "logID": self.log_id.hex(),
            "logIndex": self.log_index,
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class CosignLayer:
    #: The layer's exact bytes (the envelope as cosign pushed and logged it).
    layer: bytes
    envelope: Envelope
    #: The signing certificate; None for an attestation signed with a key.
    certificate: x509.Certificate | None
    bundle: RekorBundle | None
    entry: EntryBody | None
    #: Whether the layer carries an RFC 3161 timestamp (not used to verify).
    timestamped: bool


def _int64(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _INT64:
        raise ContentError(f"{what} is not a non-negative 64-bit integer")
    return value


def _rekor_bundle(text: str) -> RekorBundle:
    what = f"annotation {BUNDLE_ANNOTATION}"
    obj = loads(text, max_bytes=2 * MAX_BODY_SIZE, what=what)
    payload = obj.get("Payload") if isinstance(obj, dict) else None
    if not isinstance(payload, dict):
        raise ContentError(f"{what} has no Payload object")
    body = payload.get("body")
    if not isinstance(body, str):
        raise ContentError(f"{what}: Payload.body is not a string")
    log_id = payload.get("logID")
    try:
        log_id_bytes = bytes.fromhex(log_id) if isinstance(log_id, str) else None
    except ValueError:
        log_id_bytes = None
    if not log_id_bytes:
        raise ContentError(f"{what}: Payload.logID is not a hex log id")
    integrated = _int64(payload.get("integratedTime"), f"{what}: Payload.integratedTime")
    if integrated >= 253402300800:  # year 10000: no datetime
        raise ContentError(f"{what}: Payload.integratedTime is out of range")
    return RekorBundle(
        strict_b64(obj.get("SignedEntryTimestamp"), f"{what}: SignedEntryTimestamp"),
        body,
        integrated,
        _int64(payload.get("logIndex"), f"{what}: Payload.logIndex"),
        log_id_bytes,
    )


def _certificate(text: str | None) -> x509.Certificate | None:
    if not text:
        return None
    what = f"annotation {CERTIFICATE_ANNOTATION}"
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except (ValueError, x509.InvalidVersion) as exc:
        raise ContentError(f"{what} is not a PEM X.509 certificate: {exc}") from None
    return with_readable_names(certs[0], what)


def parse_cosign_layer(obj: dict[str, Any]) -> CosignLayer:
    """Read a layer document (see :func:`layer_document`); ContentError when malformed."""
    data = strict_b64(obj.get("data"), "layer descriptor data")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if obj.get("digest") != digest or obj.get("size") != len(data):
        raise ContentError(f"layer descriptor digest and size are not those of its data ({digest})")
    annotations = obj.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise ContentError("layer descriptor annotations must map strings to strings")
    envelope = Envelope.parse(data)
    bundle = None
    if annotations.get(BUNDLE_ANNOTATION):
        bundle = _rekor_bundle(annotations[BUNDLE_ANNOTATION])
    return CosignLayer(
        layer=data,
        envelope=envelope,
        certificate=_certificate(annotations.get(CERTIFICATE_ANNOTATION)),
        bundle=bundle,
        entry=parse_entry_body(bundle.body) if bundle is not None else None,
        timestamped=bool(annotations.get(TIMESTAMP_ANNOTATION)),
    )
