"""Attestation documents: what a file or a store blob holds, parsed strictly (untrusted input).

A document is one of: a DSSE envelope; an in-toto metablock link
(:mod:`attestlake.intoto.links`); a Notation signature (recognised, never verified:
:mod:`attestlake.intoto.notation`); a Sigstore bundle (v0.1, v0.2, v0.3, under either
media-type spelling) wrapping a DSSE envelope; a cosign legacy attestation layer with its
annotations (:mod:`attestlake.intoto.cosign_att`); a PEP 740 attestation object or PyPI
provenance object (:mod:`attestlake.intoto.pep740`, read as the Sigstore bundle it is
equivalent to); an answer of npm's attestations endpoint
(:mod:`attestlake.intoto.npm_attestations`); or a bare in-toto statement (unsigned). JSON
Lines files (``gh attestation download``, SLSA generators) hold one document per line; a
provenance object or npm answer of several attestations holds one document per attestation
(:mod:`attestlake.intoto.containers`).
Parsing never verifies anything: it only says what is there, or why it cannot be read.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from attestlake._internal.regular_files import NotRegularFile, open_regular, shown
from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError, InputError
from attestlake.intoto.certificates import with_readable_names
from attestlake.intoto.containers import contained_documents
from attestlake.intoto.cosign_att import FORMAT as COSIGN_FORMAT
from attestlake.intoto.cosign_att import CosignLayer, is_layer_document, parse_cosign_layer
from attestlake.intoto.dsse import MAX_ENVELOPE_SIZE, Envelope
from attestlake.intoto.links import (
    METABLOCK_LINK_FORMAT,
    Metablock,
    NotALink,
    is_metablock,
    parse_metablock,
)
from attestlake.intoto.notation import COSE_FORMAT, JWS_FORMAT, cose_signature, jws_signature
from attestlake.intoto.npm_attestations import FORMAT as NPM_FORMAT
from attestlake.intoto.npm_attestations import is_npm_attestations, npm_attestations
from attestlake.intoto.pep740 import (
    ATTESTATION_FORMAT,
    PROVENANCE_FORMAT,
    Publisher,
    attestation_bundle,
    is_attestation_object,
    is_provenance_object,
    provenance_items,
)

MAX_DOCUMENT_SIZE = MAX_ENVELOPE_SIZE
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
BUNDLE_MEDIA_TYPES = {
    "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "0.3",
}
#: Log entry kinds whose DSSE consistency sigstore-python can check.
VERIFIABLE_LOG_ENTRIES = (("dsse", "0.0.1"), ("hashedrekord", "0.0.2"))
#: Log entry kinds whose integrated time (with an inclusion promise) sigstore-python accepts.
TIMED_LOG_ENTRIES = (("dsse", "0.0.1"), ("hashedrekord", "0.0.1"))
#: Legacy log entry kinds of DSSE envelopes, verified by attestlake itself under a trusted root
#: that opts in to them (``legacy_log_entries`` in the trust policy).
LEGACY_LOG_ENTRIES = (("intoto", "0.0.2"),)


class UnsupportedDocument(ContentError):
    """A well-formed document of a kind attestlake cannot verify (e.g. a future bundle)."""

    def __init__(self, message: str, fmt: str | None = None) -> None:
        super().__init__(message)
        self.format = fmt


@dataclass(frozen=True)
class LogEntry:
    kind: str
    version: str
    inclusion_proof: bool
    inclusion_promise: bool
    integrated_time: bool = False


@dataclass(frozen=True)
class SigstoreBundle:
    version: str
    raw: bytes
    #: The DSSE envelope; None for a message-signature bundle (it signs a file, not a statement).
    envelope: Envelope | None
    #: The signing (leaf) certificate; None when the bundle names a public key instead.
    certificate: x509.Certificate | None
    public_key_hint: str | None
    log_entries: tuple[LogEntry, ...]
    timestamps: int

    @property
    def format(self) -> str:
        return f"sigstore-bundle-v{self.version}"

    @property
    def legacy_entry(self) -> str | None:
        """The kind of the bundle's only log entry (``kind/version``) if it is a legacy kind
        (:data:`LEGACY_LOG_ENTRIES`), else None."""
        if len(self.log_entries) != 1 or self.envelope is None:
            return None
        entry = self.log_entries[0]
        legacy = (entry.kind, entry.version) in LEGACY_LOG_ENTRIES
        return f"{entry.kind}/{entry.version}" if legacy else None

    def unsupported(self, legacy: tuple[str, ...] = ()) -> str | None:
        """Why this keyless bundle cannot be verified, or None if it can try: by
        sigstore-python, or by attestlake for the ``legacy`` entry kinds (``kind/version``)
        that a trusted root of the policy opts in to."""
        if not self.log_entries:
            how = "an RFC 3161 timestamp only" if self.timestamps else "no timestamp either"
            return (
                f"no transparency log entry ({how}, as in GitHub private-instance bundles): "
                "keyless verification here needs a Rekor entry"
            )
        if len(self.log_entries) > 1:
            return f"{len(self.log_entries)} transparency log entries; exactly one is supported"
        entry = self.log_entries[0]
        opted_in = self.legacy_entry in legacy
        if (entry.kind, entry.version) not in VERIFIABLE_LOG_ENTRIES and not opted_in:
            opt_in = (
                " unless a trusted root of the policy opts in to it (legacy_log_entries)"
                if self.legacy_entry
                else ""
            )
            return (
                f"log entry kind {entry.kind}/{entry.version} is not supported (only "
                f"{', '.join('/'.join(k) for k in VERIFIABLE_LOG_ENTRIES)} for DSSE){opt_in}"
            )
        timed = entry.integrated_time and entry.inclusion_promise
        if timed and not opted_in and (entry.kind, entry.version) not in TIMED_LOG_ENTRIES:
            return (
                f"log entry kind {entry.kind}/{entry.version} carries an integrated time, "
                f"which is only verifiable for {', '.join('/'.join(k) for k in TIMED_LOG_ENTRIES)}"
            )
        if not entry.inclusion_proof:
            return (
                "the log entry has an inclusion promise (SET) but no inclusion proof; "
                "offline verification here needs the inclusion proof and its checkpoint"
            )
        return None


@dataclass(frozen=True)
class Document:
    format: str
    envelope: Envelope | None = None
    bundle: SigstoreBundle | None = None
    #: A layer of a cosign ``.att`` manifest, with its annotations.
    cosign: CosignLayer | None = None
    #: A bare in-toto statement (``format == "statement"``).
    statement: dict[str, Any] | None = None
    #: An in-toto link in a metablock (``format == "in-toto-link"``).
    metablock: Metablock | None = None
    #: The Trusted Publisher a PyPI provenance object names for its attestation (unsigned).
    publisher: Publisher | None = None


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContentError(f"{what} is not a JSON object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ContentError(f"{what} is not a list")
    return value


def _der(value: Any, what: str) -> x509.Certificate:
    raw = _obj(value, what).get("rawBytes")
    if not isinstance(raw, str):
        raise ContentError(f"{what}.rawBytes is not a base64 string")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError, x509.InvalidVersion) as exc:
        raise ContentError(f"{what} is not a DER X.509 certificate: {exc}") from None
    return with_readable_names(cert, what)


def _log_entry(value: Any, i: int) -> LogEntry:
    entry = _obj(value, f"tlogEntries[{i}]")
    kv = _obj(entry.get("kindVersion"), f"tlogEntries[{i}].kindVersion")
    kind, version = kv.get("kind"), kv.get("version")
    if not isinstance(kind, str) or not isinstance(version, str):
        raise ContentError(f"tlogEntries[{i}].kindVersion needs a kind and version")
    proof, promise = entry.get("inclusionProof"), entry.get("inclusionPromise")
    if proof is not None:
        _obj(proof, f"tlogEntries[{i}].inclusionProof")
    if promise is not None:
        _obj(promise, f"tlogEntries[{i}].inclusionPromise")
    timed = entry.get("integratedTime") not in (None, "", "0", 0)
    return LogEntry(kind, version, bool(proof), bool(promise), timed)


def _bundle(obj: dict[str, Any], raw: bytes) -> SigstoreBundle:
    media_type = obj["mediaType"]
    version = BUNDLE_MEDIA_TYPES.get(media_type)
    if version is None:
        raise UnsupportedDocument(
            f"unknown Sigstore bundle media type {media_type!r}", "sigstore-bundle"
        )
    material = _obj(obj.get("verificationMaterial"), "bundle verificationMaterial")
    certificate, hint = None, None
    if "certificate" in material:
        certificate = _der(material["certificate"], "verificationMaterial.certificate")
    elif "x509CertificateChain" in material:
        chain = _obj(material["x509CertificateChain"], "x509CertificateChain")
        certs = _list(chain.get("certificates"), "x509CertificateChain.certificates")
        if not certs:
            raise ContentError("x509CertificateChain has no certificates")
        certificate = _der(certs[0], "x509CertificateChain.certificates[0]")
    elif "publicKey" in material:
        hint = _obj(material["publicKey"], "verificationMaterial.publicKey").get("hint")
        hint = hint if isinstance(hint, str) else ""
    else:
        raise ContentError("bundle has no certificate, certificate chain or public key")
    entries = _list(material.get("tlogEntries"), "verificationMaterial.tlogEntries")
    tsa = _obj(material.get("timestampVerificationData") or {}, "timestampVerificationData")
    stamps = _list(tsa.get("rfc3161Timestamps"), "rfc3161Timestamps")
    envelope = None
    if "dsseEnvelope" in obj:
        envelope = Envelope.parse(_obj(obj["dsseEnvelope"], "bundle dsseEnvelope"))
    elif "messageSignature" not in obj:
        raise ContentError("bundle has neither a dsseEnvelope nor a messageSignature")
    return SigstoreBundle(
        version,
        raw,
        envelope,
        certificate,
        hint,
        tuple(_log_entry(e, i) for i, e in enumerate(entries)),
        len(stamps),
    )


def _json_bytes(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _several(count: int, what: str, fmt: str) -> UnsupportedDocument:
    return UnsupportedDocument(
        f"{what} of {count} attestations: read from a file, each is its own document", fmt
    )


def _pep740(obj: dict[str, Any]) -> Document:
    """A PEP 740 attestation object, or a provenance object of one attestation."""
    publisher, attestation, fmt = None, obj, ATTESTATION_FORMAT
    if is_provenance_object(obj):
        items = provenance_items(obj)
        if len(items) > 1:
            raise _several(len(items), "a PyPI provenance object", PROVENANCE_FORMAT)
        publisher, attestation, fmt = items[0].publisher, items[0].attestation, PROVENANCE_FORMAT
    if not isinstance(attestation, dict):
        raise ContentError("the attestation object is not a JSON object")
    converted = attestation_bundle(attestation)
    try:
        bundle = _bundle(converted, _json_bytes(converted))
    except ContentError as exc:
        raise ContentError(f"the PEP 740 attestation, as a Sigstore bundle: {exc}") from None
    return Document(fmt, bundle=bundle, publisher=publisher)


def _npm(obj: dict[str, Any]) -> Document:
    """An answer of npm's attestations endpoint holding one attestation."""
    answers = npm_attestations(obj)
    if len(answers) > 1:
        raise _several(len(answers), "an npm attestations answer", NPM_FORMAT)
    answer = answers[0]
    media_type = answer.bundle.get("mediaType")
    if not isinstance(media_type, str) or not media_type.startswith(
        "application/vnd.dev.sigstore."
    ):
        raise ContentError("npm attestations: attestations[0].bundle is not a Sigstore bundle")
    bundle = _bundle(answer.bundle, _json_bytes(answer.bundle))
    try:
        signed = bundle.envelope.statement()["predicateType"] if bundle.envelope else None
    except ContentError:
        signed = None  # reported when the bundle is verified
    if signed is not None and signed != answer.predicate_type:
        raise ContentError(
            f"npm attestations: attestations[0] says predicateType {answer.predicate_type!r}, "
            f"but its signed statement says {signed!r}"
        )
    return Document(NPM_FORMAT, bundle=bundle)


def statement_predicate_type(obj: dict[str, Any]) -> str:
    """The predicate type of a bare statement: ``predicateType``, or ``predicate_type`` as the
    in-toto protobuf bindings write it with proto field names (Chainloop does)."""
    value = obj.get("predicateType", obj.get("predicate_type"))
    if not isinstance(value, str):
        raise ContentError("statement predicateType is not a string")
    if not isinstance(obj.get("subject", []), list):
        raise ContentError("statement subject is not a list")
    return value


def parse_document(raw: bytes) -> Document:
    """What ``raw`` holds. ContentError when malformed, UnsupportedDocument when unknown (or
    known and not verifiable here: a Notation signature)."""
    notation = cose_signature(raw)
    if notation is not None:
        raise UnsupportedDocument(notation, COSE_FORMAT)
    obj = loads(raw, max_bytes=MAX_DOCUMENT_SIZE)
    if not isinstance(obj, dict):
        raise ContentError("not a JSON object")
    media_type = obj.get("mediaType")
    if isinstance(media_type, str) and media_type.startswith("application/vnd.dev.sigstore."):
        bundle = _bundle(obj, raw)
        return Document(bundle.format, bundle=bundle)
    if is_layer_document(obj):
        return Document(COSIGN_FORMAT, cosign=parse_cosign_layer(obj))
    if is_attestation_object(obj) or is_provenance_object(obj):
        return _pep740(obj)
    if is_npm_attestations(obj):
        return _npm(obj)
    if is_metablock(obj):
        try:
            return Document(METABLOCK_LINK_FORMAT, metablock=parse_metablock(obj))
        except NotALink as exc:
            raise UnsupportedDocument(str(exc), "in-toto-metablock") from None
    if "payloadType" in obj or "signatures" in obj:
        return Document("dsse", envelope=Envelope.parse(obj))
    notation = jws_signature(obj)
    if notation is not None:
        raise UnsupportedDocument(notation, JWS_FORMAT)
    if ("predicateType" in obj or "predicate_type" in obj) and (
        "_type" in obj or "type" in obj or "subject" in obj
    ):
        statement_predicate_type(obj)
        return Document("statement", statement=obj)
    raise UnsupportedDocument(
        "not a DSSE envelope, Sigstore bundle or in-toto statement"
        + (f" (mediaType {media_type!r})" if isinstance(media_type, str) else "")
    )


def split_json_lines(raw: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line) for every non-blank line of a JSON Lines text."""
    for number, line in enumerate(raw.split(b"\n"), start=1):
        line = line.strip()
        if line:
            yield number, line


def _read(path: Path, limit: int) -> bytes:
    try:
        with open_regular(path) as f:
            return f.read(limit)
    except FileNotFoundError:
        raise InputError(f"{shown(path)}: no such file") from None
    except NotRegularFile as exc:
        raise InputError(f"{shown(path)}: {exc.strerror}; give the attestation files") from None
    except OSError as exc:
        raise InputError(f"{shown(path)}: cannot read: {exc.strerror or exc}") from None


def read_documents(path: Path, *, max_file_size: int = 1 << 30) -> Iterator[tuple[str, bytes]]:
    """(source, raw document) for each document of a file: ``path``; ``path:N`` for line N
    of a JSON Lines file (``.jsonl``/``.ndjson``); ``path#<JSON pointer>`` for each
    attestation of a document that holds several (:mod:`attestlake.intoto.containers`). An
    empty file yields one empty document, so that every file gets an outcome. InputError if
    the file cannot be read or is too large."""
    is_lines = path.suffix.lower() in JSON_LINES_SUFFIXES
    raw = _read(path, max_file_size + 1 if is_lines else MAX_DOCUMENT_SIZE + 1)
    name = shown(path)
    if len(raw) > max_file_size:
        raise InputError(f"{name}: larger than {max_file_size} bytes")
    lines = list(split_json_lines(raw)) if is_lines else []
    if not is_lines or not lines:
        parts = contained_documents(raw, MAX_DOCUMENT_SIZE) if not is_lines else None
        if parts is None:
            yield name, raw
        for pointer, part in parts or ():
            yield f"{name}#{pointer}", part
        return
    for number, line in lines:
        yield f"{name}:{number}", line
