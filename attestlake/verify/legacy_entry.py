"""Sigstore bundles whose log entry is of a legacy kind (``intoto/0.0.2``: cosign's uploads,
npm provenance and GitHub bundles of 2023-2024), verified by attestlake itself, offline, under a
trusted root that opts in (``legacy_log_entries``, :mod:`attestlake.verify.roots`).

sigstore-python rejects these entries; sigstore-go and sigstore-js verify them. Under a root
that opts in, a bundle verifies when all of these hold:

1. a verified time: the signed entry timestamp (SET), signed by a log of the root over the
   entry and its integrated time, and/or RFC 3161 timestamps signed by a timestamp authority of
   the root; at least one;
2. at every verified time, the certificate chains to a Fulcio CA of the root, is a
   code-signing certificate, and it and its CA are valid; its SCT is signed by a CT log of the
   root;
3. the entry's Merkle inclusion proof leads to the root hash of a checkpoint signed by a log of
   the root (required, as for every bundle attestlake verifies);
4. the logged entry is this envelope's: an ``intoto/0.0.2`` body whose payload hash is the
   sha256 of the envelope's payload, whose signatures are the envelope's, and whose verifier is
   the bundle's certificate. A bundle carries the envelope re-serialised, not the bytes that
   were uploaded, so the body's envelope hash cannot be compared;
5. the envelope's signature over its DSSE PAE verifies with the certificate's key.

The identity is then matched against the policy (:mod:`attestlake.verify.keyless`).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from cryptography import x509
from sigstore.errors import Error as SigstoreError
from sigstore.models import Bundle

from attestlake.errors import ContentError, TrustPolicyError
from attestlake.intoto.bundles import SigstoreBundle
from attestlake.intoto.cosign_att import RekorBundle
from attestlake.intoto.rekor_entry import envelope_mismatch, parse_entry_body
from attestlake.verify.fulcio_rekor import (
    BAD,
    Issuer,
    Refusal,
    chain_refusal,
    issuing_authority,
    set_refusal,
    signature_refusal,
)
from attestlake.verify.root_material import RootMaterial, root_material
from attestlake.verify.roots import SigstoreRoot
from attestlake.verify.sigstore_private import (
    canonicalized_body,
    inclusion_promise,
    inclusion_refusal,
    sct_refusal,
    timestamp_times,
)
from attestlake.verify.sigstore_trust import SigstoreTrust

#: Year 10000: an integrated time past it has no datetime.
_MAX_TIME = 253402300800


def _times(
    material: RootMaterial, trust: SigstoreTrust, parsed: Bundle
) -> list[tuple[datetime, str]] | Refusal:
    """Step 1: the verified times, each with what it is the time of."""
    times: list[tuple[datetime, str]] = []
    promise: RekorBundle | None = inclusion_promise(parsed)
    if promise is not None:
        if promise.integrated_time >= _MAX_TIME:
            return BAD, "the log entry's integrated time is out of range"
        refusal = set_refusal(material, promise)
        if refusal is not None:
            return refusal
        times.append((promise.integrated_at, "when the log integrated the entry"))
    stamped = timestamp_times(trust.verifier, parsed)
    if isinstance(stamped, str):
        return BAD, stamped
    times.extend((t.astimezone(UTC), "at the time of its RFC 3161 timestamp") for t in stamped)
    if not times:
        return BAD, (
            "no verified time: the entry has no signed entry timestamp, and no RFC 3161 "
            "timestamp is signed by a timestamp authority of the trusted root"
        )
    return times


def _certificate_refusal(
    material: RootMaterial,
    trust: SigstoreTrust,
    cert: x509.Certificate,
    times: list[tuple[datetime, str]],
) -> Refusal | None:
    """Step 2."""
    for when, event in times:
        refusal = chain_refusal(material, cert, when, event)
        if refusal is not None:
            return refusal
    issuer = issuing_authority(material, cert)
    assert isinstance(issuer, Issuer)  # chain_refusal found it
    why = sct_refusal(trust.trusted_root, cert, issuer.chain)
    return (BAD, why) if why is not None else None


def _entry_refusal(bundle: SigstoreBundle, parsed: Bundle, cert: x509.Certificate) -> str | None:
    """Step 4."""
    assert bundle.envelope is not None
    hinted = f"{bundle.log_entries[0].kind}/{bundle.log_entries[0].version}"
    try:
        entry = parse_entry_body(base64.b64encode(canonicalized_body(parsed)).decode())
    except ContentError as exc:
        return f"the logged entry is not an {hinted} entry of an envelope: {exc}"
    if entry.kind_version != hinted:
        return f"the logged entry is of kind {entry.kind_version}, not {hinted} as the bundle says"
    return envelope_mismatch(entry, None, bundle.envelope, cert)


def legacy_entry_refusal(
    root: SigstoreRoot, trust: SigstoreTrust, bundle: SigstoreBundle
) -> Refusal | None:
    """Why ``bundle`` (a legacy log entry, a DSSE envelope and a certificate) does not verify
    under ``root``: steps 1 to 5 of the module doc; None when it does."""
    entry = bundle.log_entries[0]
    kind = f"{entry.kind}/{entry.version}"
    if kind not in root.legacy_log_entries:
        return "unsupported", (
            f"log entry kind {kind} is legacy, and the trusted root {root.name} does not opt in "
            "to it (legacy_log_entries)"
        )
    assert bundle.certificate is not None and bundle.envelope is not None
    cert = bundle.certificate
    try:
        parsed = Bundle.from_json(bundle.raw)
        material = root_material(root.source)
    except TrustPolicyError as exc:
        return "no_trust_material", str(exc)
    except (SigstoreError, ValueError, TypeError, KeyError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return "malformed", f"the bundle cannot be read as a Sigstore bundle: {first}"
    times = _times(material, trust, parsed)
    if not isinstance(times, list):
        return times
    refusal = _certificate_refusal(material, trust, cert, times)
    if refusal is not None:
        return refusal
    why = inclusion_refusal(trust.trusted_root, parsed)
    if why is None:
        mismatch = _entry_refusal(bundle, parsed, cert)
        why = f"{mismatch}: the log does not vouch for this envelope" if mismatch else None
    if why is not None:
        return BAD, why
    return signature_refusal(bundle.envelope, cert)
