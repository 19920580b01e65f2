"""Verification of PyPI's attestations (PEP 740), as a Sigstore bundle v0.3 is verified.

An attestation object is read as the bundle it is equivalent to
(:func:`attestlake.intoto.pep740.attestation_bundle`) and verified keyless
(:mod:`attestlake.verify.keyless`): the certificate chains to the trusted root's Fulcio CA, the
log entry's inclusion proof and checkpoint (or promise) verify and match the envelope, the
signature verifies, and the certificate's identity is one the policy trusts. Two checks of
PEP 740 come on top:

- the statement names exactly one subject: a distribution file name (a wheel, or an sdist
  ``.tar.gz``/``.zip``, as ``packaging`` reads them) with a SHA-256 digest; otherwise the
  attestation is ``malformed``, whoever signed it;
- a provenance object's publisher (unsigned) must be what the certificate says: for a GitHub
  or GitLab publisher, its repository is the certificate's source repository and its workflow
  file the certificate's build configuration; for a Google one, its email the certificate's
  identity. A publisher that disagrees makes the attestation ``untrusted_signer``; one the
  certificate confirms gives the row its project (the repository) and workflow. Other kinds
  are recorded as written, never checked.

The identity in the outcome is always the certificate's.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from cryptography import x509
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from attestlake.intoto.bundles import Document
from attestlake.intoto.claims import Claims
from attestlake.intoto.pep740 import Publisher
from attestlake.verify.keyless import certificate_identity, fulcio_extension, verify_bundle
from attestlake.verify.outcome import NOT_VERIFIED, Outcome
from attestlake.verify.trust import TrustPolicy

_SOURCE_REPOSITORY = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.12")
_BUILD_CONFIG = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.18")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: The forges whose publishers name a repository and workflow file, and how a certificate's
#: build configuration names that file: ``<forge>/<repository><separator><workflow>@<ref>``.
_FORGES = {
    "GitHub": ("https://github.com/", "/.github/workflows/", "workflow"),
    "GitLab": ("https://gitlab.com/", "//", "workflow_filepath"),
}


def distribution_refusal(statement: dict[str, Any]) -> str | None:
    """Why a PEP 740 statement does not name one distribution with its SHA-256, or None."""
    subjects = statement.get("subject")
    count = len(subjects) if isinstance(subjects, list) else 0
    if count != 1 or not isinstance(subjects, list) or not isinstance(subjects[0], dict):
        return f"a PEP 740 statement names exactly one distribution; this one has {count} subjects"
    name, digest = subjects[0].get("name"), subjects[0].get("digest")
    if not isinstance(name, str):
        return "the statement's subject has no name"
    try:
        if name.endswith(".whl"):
            parse_wheel_filename(name)
        elif name.endswith((".tar.gz", ".zip")):
            parse_sdist_filename(name)
        else:
            return f"the statement's subject {name!r} is not a wheel or sdist file name"
    except (InvalidWheelFilename, InvalidSdistFilename):
        return f"the statement's subject {name!r} is not a valid distribution file name"
    sha256 = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        return f"the statement's subject {name!r} has no SHA-256 digest (64 lowercase hex)"
    return None


def _forge_check(publisher: Publisher, cert: x509.Certificate) -> tuple[Claims | None, str | None]:
    forge, separator, workflow_field = _FORGES[publisher.kind]
    repository, workflow = publisher.get("repository"), publisher.get(workflow_field)
    if repository is None or workflow is None:
        return None, f"the {publisher.shown()} names no repository and {workflow_field}"
    source = fulcio_extension(cert, _SOURCE_REPOSITORY)
    build = fulcio_extension(cert, _BUILD_CONFIG) or ""
    expected = f"{forge}{repository}"
    if source != expected or not build.startswith(f"{expected}{separator}{workflow}@"):
        return None, (
            f"the provenance object names the {publisher.shown()}, but the certificate was "
            f"issued for source repository {source!r} and build configuration {build!r}"
        )
    return Claims(workflow=workflow, project=repository), None


def publisher_check(
    publisher: Publisher, cert: x509.Certificate
) -> tuple[Claims | None, str | None]:
    """(the claims the certificate confirms, why the certificate contradicts the publisher)."""
    if publisher.kind in _FORGES:
        return _forge_check(publisher, cert)
    if publisher.kind == "Google":
        subject, _ = certificate_identity(cert)
        email = publisher.get("email")
        if email is None or subject != email:
            return None, (
                f"the provenance object names the {publisher.shown()}, but the certificate "
                f"was issued to {subject!r}"
            )
    return None, None


def verify_pep740(doc: Document, policy: TrustPolicy) -> Outcome:
    """The outcome of a PEP 740 attestation object or a provenance object of one
    attestation (see the module doc)."""
    bundle = doc.bundle
    assert bundle is not None and bundle.certificate is not None
    outcome = replace(verify_bundle(bundle, policy), format=doc.format)
    if outcome.statement is not None:
        refusal = distribution_refusal(outcome.statement)
        if refusal is not None:
            return replace(outcome, status=NOT_VERIFIED, reason="malformed", detail=refusal)
    if doc.publisher is None:
        return outcome
    claims, contradiction = publisher_check(doc.publisher, bundle.certificate)
    if contradiction is not None and outcome.verified:
        return replace(
            outcome, status=NOT_VERIFIED, reason="untrusted_signer", detail=contradiction
        )
    return replace(outcome, claims=claims)
