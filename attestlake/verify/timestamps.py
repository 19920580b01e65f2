"""RFC 3161 timestamps over a signature, as in-toto witness attaches them (go-witness
``timestamp/tsp.go``): a timestamp token (or a whole TimeStampResp) whose message imprint is
the hash of the signature bytes, signed by a timestamp authority whose certificate carries the
critical ``timeStamping`` extended key usage and chains, at the time the token states, to a
TSA of the trust policy. Only then is that time trusted.

The token is read and checked by ``rfc3161-client``; which check failed is decided here, from
the token's own fields, never from that library's error message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from rfc3161_client import (
    PKIStatus,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from attestlake.verify.x509_trust import TimestampAuthority

Refusal = tuple[str, str]
_HASHES = {
    "2.16.840.1.101.3.4.2.1": hashlib.sha256,
    "2.16.840.1.101.3.4.2.2": hashlib.sha384,
    "2.16.840.1.101.3.4.2.3": hashlib.sha512,
}
#: What ``rfc3161-client`` and ``cryptography`` raise on hostile DER (seen: ValueError,
#: KeyError from a name of an unknown string type, InvalidVersion): any of them means the
#: token cannot be read or verified, whatever the message says.
_HOSTILE = (ValueError, KeyError, TypeError, IndexError, OverflowError, x509.InvalidVersion)
#: A TimeStampResp with a granted status (``SEQUENCE {INTEGER 0}``) before the token.
_GRANTED = bytes.fromhex("3003020100")


@dataclass(frozen=True)
class TrustedTime:
    """The time a timestamp of a trusted TSA states."""

    at: datetime
    authority: str


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(size)]) + size


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """The DER element at ``pos``: its tag, where its content starts and where it ends."""
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first >= 0x80:
        size = first & 0x7F
        if not 0 < size <= 4 or tag & 0x1F == 0x1F:
            raise ValueError("not a DER element")
        first, pos = int.from_bytes(data[pos : pos + size], "big"), pos + size
    if pos + first > len(data):
        raise ValueError("a DER element runs past its end")
    return tag, pos, pos + first


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements inside ``data[start:end]``: tag, header start, content start, end."""
    found, pos = [], start
    while pos < end:
        tag, content, stop = _tlv(data, pos)
        found.append((tag, pos, content, stop))
        pos = stop
    return found


def _sorted_in_token(token: bytes) -> bytes:
    _, start, end = _tlv(token, 0)
    explicit = _children(token, start, end)[1]  # ContentInfo: contentType, [0] content
    signed_data = _children(token, explicit[2], explicit[3])[0]
    fields = _children(token, signed_data[2], signed_data[3])
    certs = next(f for f in fields if f[0] == 0xA0)  # [0] IMPLICIT certificates
    parts = sorted(token[h:e] for _, h, _, e in _children(token, certs[2], certs[3]))
    return token[: certs[2]] + b"".join(parts) + token[certs[3] :]


def _sorted_certificates(data: bytes) -> bytes:
    """``data`` (a token or a TimeStampResp) with the certificates of its SignedData in DER
    order. A TSA may list its chain in any order (``openssl ts -reply`` writes it as
    configured), which DER's SET OF forbids and the token parser refuses; that list is outside
    what the TSA signs, so its order changes nothing that is verified. Unchanged when the data
    is not as expected (the parser then says why)."""
    try:
        _, start, end = _tlv(data, 0)
        top = _children(data, start, end)
        if top[0][0] != 0x30:
            return _sorted_in_token(data)
        _, head, _, stop = top[1]  # TimeStampResp: status, timeStampToken
        return data[:head] + _sorted_in_token(data[head:stop]) + data[stop:]
    except (ValueError, IndexError, StopIteration):
        return data


def _response(data: bytes, n: int) -> TimeStampResponse | Refusal:
    """``data`` read as a TimeStampResp, or as the token go-witness stores (wrapped in a
    granted response), with the fields verification reads."""
    data = _sorted_certificates(data)
    body = _GRANTED + data
    wrapped = b"\x30" + _der_length(len(body)) + body
    for candidate in (data, wrapped):
        try:
            response = decode_timestamp_response(candidate)
            _ = response.tst_info.gen_time, response.tst_info.message_imprint.message
        except _HOSTILE:
            continue
        if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
            return "malformed", f"timestamp {n} is a refusal of its TSA (status {response.status})"
        return response
    return "malformed", f"timestamp {n} is not an RFC 3161 timestamp token or response (DER)"


def _imprint_refusal(response: TimeStampResponse, signature: bytes, n: int) -> Refusal | None:
    imprint = response.tst_info.message_imprint
    digest = _HASHES.get(imprint.hash_algorithm.dotted_string)
    if digest is None:
        return "unsupported", (
            f"timestamp {n} hashes with {imprint.hash_algorithm.dotted_string}, not SHA-256, "
            "SHA-384 or SHA-512"
        )
    if digest(signature).digest() != imprint.message:
        return "bad_signature", (
            f"timestamp {n} is over other bytes than the signature (its message imprint is not "
            "the hash of the signature): it does not say when this signature was made"
        )
    return None


def _signer_certificate(response: TimeStampResponse) -> x509.Certificate | None:
    """The certificate that signed the token, when the token carries it."""
    try:
        infos = list(response.signed_data.signer_infos)
        if len(infos) != 1:
            return None
        issuer, serial = infos[0].issuer, infos[0].serial_number
        for der in response.signed_data.certificates:
            cert = x509.load_der_x509_certificate(der)
            if cert.issuer == issuer and cert.serial_number == serial:
                _ = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
                return cert
    except _HOSTILE:
        return None
    return None


def _untrusted(
    response: TimeStampResponse, authorities: tuple[TimestampAuthority, ...], n: int
) -> Refusal:
    """Why no TSA of the policy verifies the token: it names one of their CAs (a forged or
    corrupt token, or a certificate unfit for timestamping), or another TSA."""
    signer = _signer_certificate(response)
    if signer is None:
        return "bad_signature", (
            f"timestamp {n} does not carry the certificate of the one TSA that signed it, so "
            "no timestamp authority of the trust policy verifies it"
        )
    known = {c.subject for a in authorities for c in (*a.roots, *a.others)}
    who = signer.subject.rfc4514_string()
    if signer.issuer in known or signer.subject in known:
        return "bad_signature", (
            f"timestamp {n}, signed by {who}, does not verify with the timestamp authority "
            "of the trust policy that names it (a forged or corrupt token, a certificate "
            "without the critical timeStamping usage, or one not valid at the time it states)"
        )
    return "untrusted_signer", (
        f"timestamp {n} is signed by {who} (issued by {signer.issuer.rfc4514_string()}), "
        "which is not a timestamp authority of the trust policy"
    )


def trusted_times(
    tokens: tuple[bytes, ...], signature: bytes, authorities: tuple[TimestampAuthority, ...]
) -> list[TrustedTime] | Refusal:
    """The times that the timestamps over ``signature`` state and a TSA of the policy
    vouches for; or why there is none (the first timestamp's refusal)."""
    if not tokens:
        return "no_trust_material", (
            "the signature carries no RFC 3161 timestamp, and the trust policy checks "
            "certificates at the time of a trusted timestamp (it names timestamp_authorities)"
        )
    responses = [_response(t, n) for n, t in enumerate(tokens, 1)]
    malformed = next((r for r in responses if isinstance(r, tuple)), None)
    if malformed is not None:
        return malformed
    times: list[TrustedTime] = []
    refusals: list[Refusal] = []
    for n, response in enumerate(responses, 1):
        assert not isinstance(response, tuple)
        refusal = _imprint_refusal(response, signature, n)
        if refusal is not None:
            refusals.append(refusal)
            continue
        trusted = _vouching(response, signature, authorities)
        if trusted is None:
            refusals.append(_untrusted(response, authorities, n))
        else:
            times.append(TrustedTime(response.tst_info.gen_time, trusted.name))
    return times or refusals[0]


def _vouching(
    response: TimeStampResponse, signature: bytes, authorities: tuple[TimestampAuthority, ...]
) -> TimestampAuthority | None:
    """The TSA of the policy that verifies the token (its signature, its signing certificate's
    critical timeStamping usage and chain at the token's time), or None."""
    for tsa in authorities:
        verifier = VerifierBuilder(roots=list(tsa.roots), intermediates=list(tsa.others)).build()
        try:
            if verifier.verify_message(response, signature):
                return tsa
        except (VerificationError, *_HOSTILE):
            continue
    return None
