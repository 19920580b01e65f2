"""PyPI's attestations (PEP 740): attestation objects and provenance objects.

An *attestation object* (``*.publish.attestation`` files, one attestation of PyPI's
integrity API) is::

    {"version": 1,
     "verification_material": {"certificate": base64 DER leaf certificate,
                               "transparency_entries": [Rekor log entries]},
     "envelope": {"statement": base64 in-toto statement, "signature": base64 signature}}

It is a DSSE envelope (payload type ``application/vnd.in-toto+json``) signed keyless, whose
log entries are written as a Sigstore bundle's ``tlogEntries``: :func:`attestation_bundle`
rewrites it as the Sigstore bundle v0.3 it is equivalent to (as ``pypi-attestations``'
``Attestation.to_bundle()`` does), and that bundle is verified like any other.

A *provenance object* (PyPI's ``<file>.provenance``) groups attestation objects by the
Trusted Publisher PyPI checked them against::

    {"version": 1,
     "attestation_bundles": [{"publisher": {"kind": "GitHub", "repository": ..., ...},
                              "attestations": [attestation objects]}]}

The ``publisher`` block is not signed: it is recorded, checked against the certificate
(:mod:`attestlake.verify.pep740`), and never decides who signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from attestlake._internal.untrusted_base64 import strict_b64
from attestlake.errors import ContentError
from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE

ATTESTATION_FORMAT = "pep740-attestation"
PROVENANCE_FORMAT = "pypi-provenance"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
#: Bound on the attestations of one provenance object (PyPI attaches one or two per file).
MAX_ATTESTATIONS = 64
#: Bound on the log entries of one attestation object (PyPI's hold one).
MAX_LOG_ENTRIES = 8


@dataclass(frozen=True)
class Publisher:
    """The Trusted Publisher a provenance object names (unsigned): its ``kind`` (GitHub,
    GitLab, Google, ...) and its other string fields as written."""

    kind: str
    fields: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        return dict(self.fields).get(name)

    def shown(self) -> str:
        rest = ", ".join(f"{k} {v}" for k, v in self.fields)
        return f"{self.kind} publisher" + (f" ({rest})" if rest else "")


def is_attestation_object(obj: dict[str, Any]) -> bool:
    """An object with either part of an attestation object (the other may be missing)."""
    return "verification_material" in obj or "envelope" in obj


def is_provenance_object(obj: dict[str, Any]) -> bool:
    return "attestation_bundles" in obj


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContentError(f"{what} is not a JSON object")
    return value


def _list(value: Any, what: str, bound: int) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ContentError(f"{what} is not a non-empty list")
    if len(value) > bound:
        raise ContentError(f"{what} holds {len(value)} items, over the bound of {bound}")
    return value


def _version(obj: dict[str, Any], what: str) -> None:
    version = obj.get("version")
    if version != 1 or isinstance(version, bool):
        raise ContentError(f"{what} has version {version!r}; only version 1 is defined")


def _b64(value: Any, what: str) -> str:
    """``value`` checked to be standard base64; returned as written."""
    if not isinstance(value, str) or not value:
        raise ContentError(f"{what} is not a base64 string")
    strict_b64(value, what)
    return value


def attestation_bundle(obj: dict[str, Any]) -> dict[str, Any]:
    """The Sigstore bundle v0.3 equivalent to an attestation object. ContentError when the
    object is malformed (the certificate is checked as DER when the bundle is read)."""
    _version(obj, "the attestation object")
    material = _obj(obj.get("verification_material"), "verification_material")
    envelope = _obj(obj.get("envelope"), "envelope")
    certificate = _b64(material.get("certificate"), "verification_material.certificate")
    entries = _list(
        material.get("transparency_entries"),
        "verification_material.transparency_entries",
        MAX_LOG_ENTRIES,
    )
    for i, entry in enumerate(entries):
        _obj(entry, f"verification_material.transparency_entries[{i}]")
    return {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {
            "certificate": {"rawBytes": certificate},
            "tlogEntries": entries,
        },
        "dsseEnvelope": {
            "payload": _b64(envelope.get("statement"), "envelope.statement"),
            "payloadType": INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": _b64(envelope.get("signature"), "envelope.signature")}],
        },
    }


def _publisher(value: Any, what: str) -> Publisher:
    obj = _obj(value, what)
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ContentError(f"{what}.kind is not a string")
    fields = tuple(
        (k, v) for k, v in sorted(obj.items()) if k != "kind" and isinstance(v, str) and v
    )
    return Publisher(kind, fields)


@dataclass(frozen=True)
class ProvenanceItem:
    """One attestation of a provenance object: where it is (a JSON pointer), its publisher
    (parsed, and as written) and the attestation object, not yet checked."""

    pointer: str
    publisher: Publisher
    publisher_json: dict[str, Any]
    attestation: Any


def provenance_items(obj: dict[str, Any]) -> list[ProvenanceItem]:
    """Every attestation of a provenance object. ContentError when the provenance object is
    malformed or holds more than :data:`MAX_ATTESTATIONS`."""
    _version(obj, "the provenance object")
    groups = _list(obj.get("attestation_bundles"), "attestation_bundles", MAX_ATTESTATIONS)
    found: list[ProvenanceItem] = []
    for i, group in enumerate(groups):
        what = f"attestation_bundles[{i}]"
        group = _obj(group, what)
        raw = _obj(group.get("publisher"), f"{what}.publisher")
        publisher = _publisher(raw, f"{what}.publisher")
        items = _list(group.get("attestations"), f"{what}.attestations", MAX_ATTESTATIONS)
        if len(found) + len(items) > MAX_ATTESTATIONS:
            raise ContentError(
                f"the provenance object holds over {MAX_ATTESTATIONS} attestations, the bound"
            )
        for j, item in enumerate(items):
            pointer = f"/attestation_bundles/{i}/attestations/{j}"
            found.append(ProvenanceItem(pointer, publisher, raw, item))
    return found


def single_provenance(item: ProvenanceItem) -> dict[str, Any]:
    """A provenance object holding one attestation (one document of a larger one)."""
    group = {"publisher": item.publisher_json, "attestations": [item.attestation]}
    return {"version": 1, "attestation_bundles": [group]}
