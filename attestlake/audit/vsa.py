"""The gate's answer as a signed SLSA Verification Summary Attestation (VSA v1).

:func:`verification_summary` makes the in-toto statement
(``https://slsa.dev/verification_summary/v1``) for one artifact: attestlake's gate as the
verifier, the artifact as the subject and ``resourceUri``, the trust policy's digest as the
policy, the run statements it relied on as ``inputAttestations``, ``PASSED`` or ``FAILED``,
and the levels verified: ``SLSA_BUILD_LEVEL_1`` when signed provenance of the artifact is in
the lake (an attestation of how it was built), none otherwise. Signed by a :class:`Signer`
(DSSE envelope for a key, Sigstore bundle keyless), it is what other VSA verifiers and
attestlake's own crawler (table ``verification_summaries``) read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import rfc8785

from attestlake._internal.durations import iso
from attestlake._internal.version import __version__
from attestlake.audit.gate import GateResult
from attestlake.signing.signing import SignedStatement, Signer

PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
VERIFIER = "https://attestlake.dev/gate/v1"


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:")


def verification_summary(
    result: GateResult, policy_digest: str | None, now: datetime | None = None
) -> bytes:
    """The VSA statement bytes (RFC 8785 canonical JSON) for the gate's ``result``."""
    levels = (
        ["SLSA_BUILD_LEVEL_1"]
        if result.passed and any(r.get("has_provenance") for r in result.runs)
        else []
    )
    predicate: dict[str, Any] = {
        "verifier": {"id": VERIFIER, "version": {"attestlake": __version__}},
        "timeVerified": iso(now or datetime.now(UTC)),
        "resourceUri": result.subject,
        "policy": {"uri": "attestlake gate"},
        "inputAttestations": [
            {"uri": r["source"], "digest": {"sha256": _hex(r["envelope_digest"])}}
            for r in result.runs
            if r.get("envelope_digest")
        ],
        "verificationResult": "PASSED" if result.passed else "FAILED",
        "verifiedLevels": levels,
        "slsaVersion": "1.0",
    }
    if policy_digest is not None:
        predicate["policy"]["digest"] = {"sha256": _hex(policy_digest)}
    statement: dict[str, Any] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": result.subject, "digest": {"sha256": _hex(result.digest)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }
    return bytes(rfc8785.dumps(statement))


def signed_summary(
    result: GateResult, signer: Signer, policy_digest: str | None, now: datetime | None = None
) -> SignedStatement:
    """The VSA of ``result``, signed by ``signer``."""
    return signer.sign_statements([verification_summary(result, policy_digest, now)])[0]
