"""A signed statement as a Sigstore bundle (v0.3), the form cosign, gh and Sigstore's clients read.

A keyless signature already is one (certificate, transparency log entry, DSSE envelope, as
sigstore-python made it). A key-signed DSSE envelope becomes a bundle whose verification
material is the public key's hint, attestlake's key id (``sha256:`` of the key's SPKI DER, the
keyid of the envelope's signature), with no transparency log entry and no timestamp: a
verifier looks the key up by that hint in its own trust material (``publicKey.hint`` in the
Sigstore bundle specification; a tlog threshold of 0).
"""

from __future__ import annotations

import base64
import json

from attestlake.errors import ContentError
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, Envelope
from attestlake.signing.signing import BUNDLE_MEDIA_TYPE


def key_signed_bundle(envelope: Envelope) -> bytes:
    """The v0.3 bundle of a key-signed envelope; ContentError if it has no signature or its
    signatures name different keys (a bundle carries one key hint)."""
    keyids = {s.keyid for s in envelope.signatures}
    if len(keyids) != 1 or not next(iter(keyids)):
        raise ContentError("a key-signed bundle needs signatures by one key, named by its keyid")
    body = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": next(iter(keyids))},
            "tlogEntries": [],
            "timestampVerificationData": {"rfc3161Timestamps": []},
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(envelope.payload).decode(),
            "payloadType": envelope.payload_type,
            "signatures": [
                {"sig": base64.b64encode(s.sig).decode(), "keyid": s.keyid}
                for s in envelope.signatures
            ],
        },
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def as_bundle(media_type: str, data: bytes) -> bytes:
    """``data`` (a signed statement of ``media_type``, as the signers make it) as a v0.3
    bundle: a bundle unchanged, a DSSE envelope wrapped (:func:`key_signed_bundle`)."""
    if media_type == BUNDLE_MEDIA_TYPE:
        return data
    if media_type != ENVELOPE_MEDIA_TYPE:
        raise ContentError(f"not a signed statement: {media_type!r}")
    return key_signed_bundle(Envelope.parse(data))
