"""npm's attestations: what the registry answers ``GET /-/npm/v1/attestations/<name>@<version>``.

::

    {"attestations": [
       {"predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
        "bundle": {Sigstore bundle v0.1 to v0.3}},
       {"predicateType": "https://slsa.dev/provenance/v1", "bundle": {...}}]}

Each attestation is a Sigstore bundle, verified like any other: npm's *publish* attestation
is signed by the registry's key (the bundle names it in ``verificationMaterial.publicKey.hint``,
``SHA256:<base64 of the key's SHA-256>``, as the registry's ``/-/npm/v1/keys`` lists it);
the SLSA provenance is signed keyless by the CI that published the package. The
``predicateType`` beside each bundle is not signed: it must be the one its statement names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from attestlake.errors import ContentError

FORMAT = "npm-attestation"
#: Bound on the attestations of one answer (the registry gives one or two per version).
MAX_ATTESTATIONS = 64


@dataclass(frozen=True)
class NpmAttestation:
    """One attestation of an answer: where it is (a JSON pointer), its declared predicate
    type, and its bundle as written (not yet checked)."""

    pointer: str
    predicate_type: str
    bundle: dict[str, Any]
    entry: dict[str, Any]


def is_npm_attestations(obj: dict[str, Any]) -> bool:
    """An answer of the attestations endpoint: an object whose only key is ``attestations``."""
    return set(obj) == {"attestations"}


def npm_attestations(obj: dict[str, Any]) -> list[NpmAttestation]:
    """Every attestation of an answer. ContentError when it is malformed or holds more than
    :data:`MAX_ATTESTATIONS`."""
    items = obj.get("attestations")
    if not isinstance(items, list) or not items:
        raise ContentError("npm attestations: 'attestations' is not a non-empty list")
    if len(items) > MAX_ATTESTATIONS:
        raise ContentError(
            f"npm attestations: {len(items)} attestations, over the bound of {MAX_ATTESTATIONS}"
        )
    found = []
    for i, entry in enumerate(items):
        what = f"npm attestations: attestations[{i}]"
        if not isinstance(entry, dict):
            raise ContentError(f"{what} is not a JSON object")
        ptype, bundle = entry.get("predicateType"), entry.get("bundle")
        if not isinstance(ptype, str) or not ptype:
            raise ContentError(f"{what}.predicateType is not a string")
        if not isinstance(bundle, dict):
            raise ContentError(f"{what}.bundle is not a JSON object")
        found.append(NpmAttestation(f"/attestations/{i}", ptype, bundle, entry))
    return found
