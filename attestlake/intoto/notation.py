"""Notation (Notary Project) signatures: recognised, never verified.

``notation sign`` attaches to an image a referrer whose ``artifactType`` (or, on registries
without OCI 1.1, config media type) is :data:`SIGNATURE_ARTIFACT_TYPE`, with one layer: a JWS
(``application/jose+json``, JSON serialisation) or a COSE_Sign1 (``application/cose``) envelope
over a payload ``{"targetArtifact": <descriptor>}``, its content type
:data:`PAYLOAD_CONTENT_TYPE`. attestlake does not verify them (their trust is an X.509 trust
store and a Notary Project trust policy): it records each as found, ``unsupported``, with the
artifact it claims to sign.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from attestlake._internal.untrusted_json import MalformedJSON, loads

SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
PAYLOAD_CONTENT_TYPE = "application/vnd.cncf.notary.payload.v1+json"
JWS_MEDIA_TYPE = "application/jose+json"
COSE_MEDIA_TYPE = "application/cose"
SIGNATURE_MEDIA_TYPES = (JWS_MEDIA_TYPE, COSE_MEDIA_TYPE)
JWS_FORMAT, COSE_FORMAT = "notation-jws", "notation-cose"
_COSE_SIGN1_TAG = 0xD2  # CBOR tag 18


def _b64url(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_object(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        obj = loads(raw, max_bytes=len(raw) + 1)
    except MalformedJSON:
        return {}
    return obj if isinstance(obj, dict) else {}


def _target(payload: dict[str, Any]) -> str:
    target = payload.get("targetArtifact")
    digest = target.get("digest") if isinstance(target, dict) else None
    return f" over {digest}" if isinstance(digest, str) and len(digest) < 200 else ""


def _found(what: str, target: str) -> str:
    return (
        f"a Notation signature ({what}){target}: attestlake does not verify Notation "
        "signatures (an X.509 trust store and a Notary Project trust policy decide them); "
        "recorded as found, never trusted"
    )


def jws_signature(obj: dict[str, Any]) -> str | None:
    """Why a JSON document is a Notation JWS that attestlake does not verify (the detail),
    or None if it is not one: a JWS whose protected header names the Notation payload."""
    if not {"payload", "protected", "signature"} <= obj.keys() or "payloadType" in obj:
        return None
    header = _json_object(_b64url(obj.get("protected")))
    if header.get("cty") != PAYLOAD_CONTENT_TYPE:
        return None
    target = _target(_json_object(_b64url(obj.get("payload"))))
    return _found(f"JWS, {JWS_MEDIA_TYPE}", target)


def _cbor_bytes(raw: bytes, at: int) -> tuple[bytes, int] | None:
    """The CBOR byte string at ``at`` and the offset after it (definite length only)."""
    if at >= len(raw) or raw[at] >> 5 != 2:
        return None
    info, at = raw[at] & 0x1F, at + 1
    if info < 24:
        length = info
    elif info in (24, 25, 26):
        size = 1 << (info - 24)
        if at + size > len(raw):
            return None
        length, at = int.from_bytes(raw[at : at + size], "big"), at + size
    else:
        return None
    if at + length > len(raw):
        return None
    return raw[at : at + length], at + length


def cose_signature(raw: bytes) -> str | None:
    """Why ``raw`` is a Notation COSE_Sign1 that attestlake does not verify (the detail), or
    None if it is not one: a tagged COSE_Sign1 whose protected header names the Notation
    payload content type."""
    if len(raw) < 3 or raw[0] != _COSE_SIGN1_TAG or raw[1] != 0x84:  # tag 18, array of 4
        return None
    protected = _cbor_bytes(raw, 2)
    if protected is None:
        return None
    content_type = PAYLOAD_CONTENT_TYPE.encode()
    encoded = bytes([0x78, len(content_type)]) + content_type  # as a CBOR text string
    if encoded not in protected[0]:
        return None
    return _found(f"COSE_Sign1, {COSE_MEDIA_TYPE}", "")
