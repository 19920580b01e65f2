"""DSSE envelopes: the signed wrapper around every in-toto statement.

The envelope keeps the exact payload bytes that were signed; verification always runs over the
pre-authentication encoding (PAE) of those bytes, never over a re-serialisation.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
MAX_ENVELOPE_SIZE = 32 * 1024 * 1024
#: Bound on the signatures of one envelope or in-toto metablock: every signature is tried
#: with every key of the policy, so a document of hundreds of thousands of junk signatures
#: would keep the verifier busy for minutes.
MAX_SIGNATURES = 64
#: Bounds on the X.509 material of one signature (in-toto witness): every intermediate is a
#: candidate of the chain to build, every timestamp a signature to check.
MAX_INTERMEDIATES = 8
MAX_TIMESTAMPS = 8
#: The one kind of timestamp go-witness writes: an RFC 3161 timestamp token.
RFC3161_TIMESTAMP = "tsp"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    ptype = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)


def _b64decode(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ContentError(f"envelope {what} is not a base64 string")
    try:
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ContentError(f"envelope {what} is not valid base64") from None


def as_statement(obj: Any) -> dict[str, Any]:
    """A parsed in-toto payload as a statement (ContentError if it is not one)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("predicateType"), str):
        raise ContentError("payload is not an in-toto statement (no predicateType)")
    if not isinstance(obj.get("subject", []), list):
        raise ContentError("statement subject is not a list")
    return obj


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes
    #: in-toto witness signs with X.509 certificates: the signing certificate (PEM or DER),
    #: the intermediates of its chain, and RFC 3161 timestamp tokens over ``sig`` (DER).
    certificate: bytes | None = None
    intermediates: tuple[bytes, ...] = ()
    timestamps: tuple[bytes, ...] = ()


def _byte_strings(value: Any, what: str, bound: int) -> tuple[bytes, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ContentError(f"envelope signature {what} is not a list")
    if len(value) > bound:
        raise ContentError(f"envelope signature has {len(value)} {what}, over {bound}")
    return tuple(_b64decode(v, f"signature {what}") for v in value)


def _signature(s: Any) -> Signature:
    """One signature object: ``keyid`` and ``sig``, and the X.509 fields go-witness writes
    (``certificate``, ``intermediates``, ``timestamps``: ``[{"type": "tsp", "data": ...}]``)."""
    if not isinstance(s, dict):
        raise ContentError("envelope signature is not an object")
    keyid = s.get("keyid") or ""
    if not isinstance(keyid, str):
        raise ContentError("envelope signature keyid is not a string")
    cert = s.get("certificate")
    stamps = s.get("timestamps")
    if isinstance(stamps, list):
        if not all(isinstance(t, dict) and t.get("type") == RFC3161_TIMESTAMP for t in stamps):
            raise ContentError(
                f"envelope signature timestamps are not all {{type: {RFC3161_TIMESTAMP}, data}}"
            )
        stamps = [t.get("data") for t in stamps]
    return Signature(
        keyid,
        _b64decode(s.get("sig"), "signature"),
        None if cert is None else _b64decode(cert, "signature certificate"),
        _byte_strings(s.get("intermediates"), "intermediates", MAX_INTERMEDIATES),
        _byte_strings(stamps, "timestamps", MAX_TIMESTAMPS),
    )


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    @classmethod
    def parse(cls, raw: bytes | str | dict[str, Any]) -> Envelope:
        """Parse an envelope strictly (untrusted input); ContentError when malformed."""
        if isinstance(raw, bytes | str):
            obj = loads(raw, max_bytes=MAX_ENVELOPE_SIZE, what="envelope")
        else:
            obj = raw
        if not isinstance(obj, dict):
            raise ContentError("envelope is not a JSON object")
        payload_type = obj.get("payloadType")
        if not isinstance(payload_type, str):
            raise ContentError("envelope has no payloadType")
        sigs = obj.get("signatures")
        if not isinstance(sigs, list):
            raise ContentError("envelope has no signatures list")
        if len(sigs) > MAX_SIGNATURES:
            raise ContentError(f"envelope has {len(sigs)} signatures, over {MAX_SIGNATURES}")
        signatures = tuple(_signature(s) for s in sigs)
        return cls(payload_type, _b64decode(obj.get("payload"), "payload"), signatures)

    def pae(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def to_json_bytes(self) -> bytes:
        body = {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode(),
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode()} for s in self.signatures
            ],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def statement(self) -> dict[str, Any]:
        """The payload parsed as an in-toto statement (ContentError if it is not one)."""
        if self.payload_type != INTOTO_PAYLOAD_TYPE:
            raise ContentError(f"payload type {self.payload_type!r} is not in-toto")
        return as_statement(loads(self.payload, max_bytes=MAX_ENVELOPE_SIZE, what="payload"))
