"""PyPI's attestations (PEP 740), verified on pypi-attestations' own real test assets (fetched
by scripts/fetch-test-assets): genuine ones verify under a policy trusting the identity their
certificate names, and attestlake's verdict is pypi-attestations' own on every genuine and
tampered attestation; provenance objects are one document per attestation, their publisher
checked against the certificate; hostile objects are clear ``malformed`` outcomes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pypi_attestations import Attestation, AttestationError, Distribution, GitHubPublisher
from sigstore.verify import policy as sigstore_policy

from attestlake.verify.outcome import Outcome
from attestlake.verify.verify import load_policy, verify_document, verify_files

#: Assets signed on Sigstore's staging instance (rekor.sigstage.dev); the others on production.
STAGING = {
    "rfc8785-0.1.2-py3-none-any.whl.attestation",
    "rfc8785-0.1.2-py3-none-any.whl.publish.attestation",
    "spt3g-1.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl.publish.attestation",
}
ATTESTATIONS = (
    "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl.publish.attestation",
    "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
    "pypi_attestation_models-0.0.4a2.tar.gz.attestation",
    "pypi_attestations-0.0.19.tar.gz.publish.attestation",
    "pypi_attestations-0.0.19.tar.gz.slsa.attestation",
    *sorted(STAGING),
)
PROVENANCE = (
    "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl.provenance",
    "gcb_attestation_test-0.0.0.tar.gz.provenance",
    "pypi_attestations-0.0.19.tar.gz.provenance",
)
_ISSUER = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_STORE = resources.files("sigstore") / "_store"


def trusted_root(instance: str) -> Path:
    """sigstore-python's embedded trusted root of the production or staging instance."""
    host = "tuf-repo-cdn.sigstage.dev" if instance == "staging" else "tuf-repo-cdn.sigstore.dev"
    return Path(str(_STORE / f"https%3A%2F%2F{host}" / "trusted_root.json"))


def identity(attestation: dict[str, Any]) -> tuple[str, str]:
    """(SAN, OIDC issuer) of an attestation object's certificate, read with cryptography."""
    der = base64.b64decode(attestation["verification_material"]["certificate"])
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = san.get_values_for_type(x509.UniformResourceIdentifier) or san.get_values_for_type(
        x509.RFC822Name
    )
    issuer = cert.extensions.get_extension_for_oid(_ISSUER).value.value  # type: ignore[attr-defined]
    return names[0], issuer[2:].decode()  # a short DER UTF8String: tag, length, text


def policy_for(directory: Path, subject: str, issuer: str) -> Path:
    """A policy trusting only ``subject`` (issued by ``issuer``), on either instance."""
    text = f"""
trusted_roots:
  - {{name: production, trusted_root: "{trusted_root("production")}"}}
  - {{name: staging, trusted_root: "{trusted_root("staging")}"}}
identities:
  - {{issuer: "{issuer}", subject: "{subject}", roots: [production, staging]}}
"""
    path = directory / f"policy-{abs(hash((subject, issuer)))}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def attestations_of(assets: Path, name: str) -> list[dict[str, Any]]:
    obj = json.loads((assets / name).read_text(encoding="utf-8"))
    if "attestation_bundles" in obj:
        return [a for group in obj["attestation_bundles"] for a in group["attestations"]]
    return [obj]


def verdict(raw: bytes, directory: Path, attestation: dict[str, Any]) -> Outcome:
    subject, issuer = identity(attestation)
    return verify_document(raw, load_policy(policy_for(directory, subject, issuer)))


def theirs(attestation: dict[str, Any], dist: Distribution, staging: bool) -> bool:
    """pypi-attestations' own verdict, offline, with the certificate's identity as policy."""
    subject, issuer = identity(attestation)
    try:
        Attestation.model_validate(attestation).verify(
            sigstore_policy.Identity(identity=subject, issuer=issuer),
            dist,
            staging=staging,
            offline=True,
        )
    except (AttestationError, ValueError):
        return False
    return True


@pytest.fixture(autouse=True)
def _sigstore_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pypi-attestations' offline verifier copies its embedded roots under XDG dirs."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.mark.parametrize("name", ATTESTATIONS + PROVENANCE)
def test_genuine_attestation_verifies_under_its_certificate_identity(
    name: str, pypi_assets: Path, tmp_path: Path
) -> None:
    attestation = attestations_of(pypi_assets, name)[0]
    outcome = verdict((pypi_assets / name).read_bytes(), tmp_path, attestation)
    assert (outcome.status, outcome.reason, outcome.detail) == ("verified", None, None)
    subject, issuer = identity(attestation)
    assert (outcome.signer, outcome.issuer) == (subject, issuer)
    expected = "pypi-provenance" if name.endswith(".provenance") else "pep740-attestation"
    assert outcome.format == expected
    statement = json.loads(base64.b64decode(attestation["envelope"]["statement"]))
    assert outcome.statement == statement
    assert outcome.predicate_type == statement["predicateType"]


@pytest.mark.parametrize("name", ATTESTATIONS)
def test_another_identity_is_not_trusted(name: str, pypi_assets: Path, tmp_path: Path) -> None:
    attestation = attestations_of(pypi_assets, name)[0]
    subject, issuer = identity(attestation)
    policy = load_policy(policy_for(tmp_path, "https://github.com/evil/fork", issuer))
    outcome = verify_document((pypi_assets / name).read_bytes(), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", "untrusted_signer")
    assert outcome.detail is not None and "impersonation" in outcome.detail
    assert (outcome.signer, outcome.issuer) == (subject, issuer)


def _flip_statement(a: dict[str, Any], other: dict[str, Any]) -> None:
    statement = bytearray(base64.b64decode(a["envelope"]["statement"]))
    at = statement.index(b'"sha256"') + 12  # a hex digit of the subject's digest
    statement[at] = ord("0") if statement[at] != ord("0") else ord("1")
    a["envelope"]["statement"] = base64.b64encode(bytes(statement)).decode()


def _other_certificate(a: dict[str, Any], other: dict[str, Any]) -> None:
    a["verification_material"]["certificate"] = other["verification_material"]["certificate"]


def _other_log_entry(a: dict[str, Any], other: dict[str, Any]) -> None:
    entries = other["verification_material"]["transparency_entries"]
    a["verification_material"]["transparency_entries"] = entries


def _other_signature(a: dict[str, Any], other: dict[str, Any]) -> None:
    a["envelope"]["signature"] = other["envelope"]["signature"]


#: Tampering, and the reason attestlake gives for it (pypi-attestations refuses them all).
TAMPERING: dict[str, tuple[Callable[[dict[str, Any], dict[str, Any]], None], str]] = {
    "statement byte flipped": (_flip_statement, "bad_signature"),
    "another certificate": (_other_certificate, "bad_signature"),
    "another log entry": (_other_log_entry, "bad_signature"),
    "another signature": (_other_signature, "bad_signature"),
}
#: Pairs of production attestations of distributions in the assets: (tampered, donor).
PAIRS = (
    ("pypi_attestations-0.0.19.tar.gz.publish.attestation", "gitlab_oidc_project-0.0.3.tar.gz"),
    ("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation", "pypi_attestations-0.0.19.tar.gz"),
)


@pytest.mark.parametrize("how", sorted(TAMPERING))
@pytest.mark.parametrize(("name", "donor"), PAIRS)
def test_tampered_attestation_is_never_verified_and_agrees_with_pypi_attestations(
    name: str, donor: str, how: str, pypi_assets: Path, tmp_path: Path
) -> None:
    original = attestations_of(pypi_assets, name)[0]
    other = attestations_of(pypi_assets, f"{donor}.publish.attestation")[0]
    tampered = json.loads(json.dumps(original))
    change, reason = TAMPERING[how]
    change(tampered, other)
    dist = Distribution.from_file(pypi_assets / name.removesuffix(".publish.attestation"))
    assert theirs(original, dist, staging=False) is True  # the untouched one does verify
    assert theirs(tampered, dist, staging=False) is False
    # judged under the policy trusting the original signer: only the tampering can refuse it
    subject, issuer = identity(original)
    policy = load_policy(policy_for(tmp_path, subject, issuer))
    outcome = verify_document(json.dumps(tampered).encode(), policy)
    assert (outcome.status, outcome.reason) == ("not_verified", reason), outcome.detail


@pytest.mark.parametrize("name", ATTESTATIONS + PROVENANCE)
def test_verdict_is_pypi_attestations_verdict(name: str, pypi_assets: Path, tmp_path: Path) -> None:
    """For every asset whose distribution is among the assets: the same verdict, trusting
    the certificate's identity and trusting another one."""
    attestation = attestations_of(pypi_assets, name)[0]
    subject_name = json.loads(base64.b64decode(attestation["envelope"]["statement"]))["subject"]
    dist_file = pypi_assets / subject_name[0]["name"]
    if not dist_file.is_file():
        pytest.skip(f"{dist_file.name} is not among pypi-attestations' assets")
    dist = Distribution.from_file(dist_file)
    staging = name in STAGING
    ours = verdict((pypi_assets / name).read_bytes(), tmp_path, attestation)
    assert ours.verified is theirs(attestation, dist, staging) is True
    wrong = json.loads(json.dumps(attestation))
    _flip_statement(wrong, attestation)
    assert verdict(json.dumps(wrong).encode(), tmp_path, attestation).verified is False
    assert theirs(wrong, dist, staging) is False


def test_statement_must_name_a_distribution(pypi_assets: Path, tmp_path: Path) -> None:
    name = "pypi_attestations-0.0.19.tar.gz.publish.attestation"
    attestation = attestations_of(pypi_assets, name)[0]
    statement = json.loads(base64.b64decode(attestation["envelope"]["statement"]))
    for subjects, why in (
        ([{"name": "payload.txt", "digest": statement["subject"][0]["digest"]}], "not a wheel"),
        ([{"name": "pypi_attestations-0.0.19.tar.gz", "digest": {"sha512": "00"}}], "SHA-256"),
        (statement["subject"] * 2, "exactly one distribution"),
    ):
        changed = json.loads(json.dumps(attestation))
        body = {**statement, "subject": subjects}
        changed["envelope"]["statement"] = base64.b64encode(json.dumps(body).encode()).decode()
        outcome = verdict(json.dumps(changed).encode(), tmp_path, attestation)
        assert (outcome.status, outcome.reason) == ("not_verified", "malformed")
        assert outcome.detail is not None and why in outcome.detail


def _provenance(pypi_assets: Path) -> dict[str, Any]:
    return json.loads((pypi_assets / "pypi_attestations-0.0.19.tar.gz.provenance").read_text())


def test_publisher_confirmed_by_the_certificate_names_project_and_workflow(
    pypi_assets: Path, tmp_path: Path
) -> None:
    provenance = _provenance(pypi_assets)
    attestation = provenance["attestation_bundles"][0]["attestations"][0]
    outcome = verdict(json.dumps(provenance).encode(), tmp_path, attestation)
    assert outcome.verified
    assert outcome.claims is not None
    assert (outcome.claims.project, outcome.claims.workflow) == (
        "trailofbits/pypi-attestations",
        "release.yml",
    )


@pytest.mark.parametrize(
    ("field", "value"), [("repository", "evil/pypi-attestations"), ("workflow", "other.yml")]
)
def test_publisher_contradicting_the_certificate_is_untrusted(
    field: str, value: str, pypi_assets: Path, tmp_path: Path
) -> None:
    provenance = _provenance(pypi_assets)
    group = provenance["attestation_bundles"][0]
    group["publisher"][field] = value
    attestation = group["attestations"][0]
    outcome = verdict(json.dumps(provenance).encode(), tmp_path, attestation)
    assert (outcome.status, outcome.reason) == ("not_verified", "untrusted_signer")
    assert outcome.detail is not None and value in outcome.detail
    # the signer is still the certificate's, never the publisher block's
    assert outcome.signer == identity(attestation)[0]
    # pypi-attestations, given the publisher as its policy, refuses it too
    publisher = GitHubPublisher.model_validate(group["publisher"])
    dist = Distribution.from_file(pypi_assets / "pypi_attestations-0.0.19.tar.gz")
    with pytest.raises(AttestationError):
        Attestation.model_validate(attestation).verify(publisher, dist, offline=True)


def test_provenance_of_several_attestations_is_one_outcome_each(
    pypi_assets: Path, tmp_path: Path
) -> None:
    provenance = _provenance(pypi_assets)
    slsa = attestations_of(pypi_assets, "pypi_attestations-0.0.19.tar.gz.slsa.attestation")[0]
    provenance["attestation_bundles"][0]["attestations"].append(slsa)
    gitlab = attestations_of(pypi_assets, "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation")
    gitlab_publisher = {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml",
        "environment": "",
    }
    provenance["attestation_bundles"].append(
        {"publisher": gitlab_publisher, "attestations": gitlab}
    )
    path = tmp_path / "several.provenance"
    path.write_text(json.dumps(provenance), encoding="utf-8")
    subject, issuer = identity(slsa)
    results = list(verify_files([path], load_policy(policy_for(tmp_path, subject, issuer))))
    by_source = {r.source.removeprefix(str(path)): r.outcome for r in results}
    assert sorted(by_source) == [
        "#/attestation_bundles/0/attestations/0",
        "#/attestation_bundles/0/attestations/1",
        "#/attestation_bundles/1/attestations/0",
    ]
    first, second = (
        by_source["#/attestation_bundles/0/attestations/0"],
        by_source["#/attestation_bundles/0/attestations/1"],
    )
    assert first.verified and second.verified
    assert (first.predicate_type, second.predicate_type) == (
        "https://docs.pypi.org/attestations/publish/v1",
        "https://slsa.dev/provenance/v1",
    )
    other = by_source["#/attestation_bundles/1/attestations/0"]
    assert (other.status, other.reason) == ("not_verified", "untrusted_signer")
    assert other.claims is not None and other.claims.project == "facutuesca/gitlab-oidc-project"
