"""The X.509 signers of a trust policy (its ``x509`` section): the certificate authorities
that certify signing certificates (in-toto witness signs with such certificates), the RFC 3161
timestamp authorities that say when a signature was made, and which certificates are trusted
(constraints on the leaf, as witness policies' ``certConstraint``)::

    x509:
      roots:
        - name: build-ca
          certificate: pki/build-root.pem        # the CA's root (PEM)
          intermediates: [pki/build-issuing.pem]  # optional
          extended_key_usage: code_signing       # the default; or any
      timestamp_authorities:
        - name: corp-tsa
          certificates: pki/tsa-chain.pem        # the TSA's chain, its root included (PEM)
      signers:
        - roots: [build-ca]                      # optional with one root
          uris: [spiffe://example.com/ci/builder]
          organizations: [Example]
          projects: [payments]                   # optional scope, as for keys
          untrusted_after: 2026-10-01T00:00:00Z  # optional revocation

How an envelope is verified against them: :mod:`attestlake.verify.x509_envelope`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from attestlake._internal._files import read_input
from attestlake.errors import TrustPolicyError
from attestlake.verify.policy_fields import in_scope, root_names, scope_text, str_list, when
from attestlake.verify.roots import resolve

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_PEM_FILE = 1024 * 1024
CODE_SIGNING, ANY_USAGE = "code_signing", "any"
#: The leaf constraints, as witness policies' ``certConstraint`` names them.
CONSTRAINTS = ("common_name", "emails", "uris", "dns_names", "organizations")


@dataclass(frozen=True)
class CertificateRoot:
    """A CA that certifies signing certificates: its root, the intermediates the policy
    supplies, and whether its leaves must be code-signing certificates."""

    name: str
    path: str
    certificate: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()
    any_usage: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.certificate.subject.rfc4514_string()})"


@dataclass(frozen=True)
class TimestampAuthority:
    """An RFC 3161 timestamp authority: its roots (self-signed) and the other certificates of
    its chain."""

    name: str
    path: str
    roots: tuple[x509.Certificate, ...]
    others: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True)
class CertificateNames:
    """What a leaf certificate says it is, as witness constraints compare it."""

    common_name: tuple[str, ...]
    emails: tuple[str, ...]
    uris: tuple[str, ...]
    dns_names: tuple[str, ...]
    organizations: tuple[str, ...]

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertificateNames:
        """The names of ``cert`` (ValueError when its subject or SAN cannot be read)."""

        def attrs(oid: x509.ObjectIdentifier) -> tuple[str, ...]:
            return tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(oid))

        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = x509.SubjectAlternativeName([])
        return cls(
            attrs(NameOID.COMMON_NAME),
            tuple(san.get_values_for_type(x509.RFC822Name)),
            tuple(san.get_values_for_type(x509.UniformResourceIdentifier)),
            tuple(san.get_values_for_type(x509.DNSName)),
            attrs(NameOID.ORGANIZATION_NAME),
        )

    @property
    def identity(self) -> str:
        """The signer recorded: the SAN (URIs, emails, DNS names), else the common name."""
        san = (*self.uris, *self.emails, *self.dns_names)
        if san:
            return ", ".join(san)
        return f"CN={', '.join(self.common_name)}" if self.common_name else "(no name)"


@dataclass(frozen=True)
class CertificateSigner:
    """Which certificates of the named roots are trusted: each constraint given must equal the
    certificate's values of that kind (all of them, none other); one not given is not checked."""

    roots: tuple[str, ...]
    constraints: tuple[tuple[str, tuple[str, ...]], ...]
    projects: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    untrusted_after: datetime | None = None

    @property
    def label(self) -> str:
        return "; ".join(f"{k} {', '.join(v)}" for k, v in self.constraints)

    def mismatch(self, names: CertificateNames) -> str | None:
        """Why a certificate with ``names`` is not this signer, or None."""
        for kind, wanted in self.constraints:
            have: tuple[str, ...] = getattr(names, kind)
            if set(have) != set(wanted) or len(have) != len(set(have)):
                shown = ", ".join(have) or "none"
                return f"its {kind.replace('_', ' ')} ({shown}) is not {', '.join(wanted)}"
        return None

    def allows(self, project: str | None, workflow: str | None) -> bool:
        return in_scope(self.projects, self.workflows, project, workflow)

    def scope(self) -> str:
        return scope_text(self.projects, self.workflows)


@dataclass(frozen=True)
class X509Trust:
    roots: tuple[CertificateRoot, ...]
    signers: tuple[CertificateSigner, ...]
    authorities: tuple[TimestampAuthority, ...] = ()

    def digest_data(self) -> list[Any]:
        """What the section trusts, for the policy digest (certificates by their sha256)."""

        def fp(c: x509.Certificate) -> str:
            return c.fingerprint(hashes.SHA256()).hex()

        return [
            [[r.name, fp(r.certificate), [fp(c) for c in r.intermediates], r.any_usage]
             for r in self.roots],
            [[a.name, [fp(c) for c in (*a.roots, *a.others)]] for a in self.authorities],
            [[s.roots, s.constraints, s.projects, s.workflows,
              s.untrusted_after.isoformat() if s.untrusted_after else None]
             for s in self.signers],
        ]  # fmt: skip


def _certificates(p: Path, value: Any, where: str) -> tuple[x509.Certificate, ...]:
    """The certificates of the PEM file ``value`` names (relative to the policy file)."""
    if not isinstance(value, str) or not value:
        raise TrustPolicyError(f"{where} must be the path of a PEM certificate file")
    path = resolve(p, value)
    data = read_input(path, "certificate", TrustPolicyError, max_size=MAX_PEM_FILE)
    try:
        certs = tuple(x509.load_pem_x509_certificates(data))
        for c in certs:
            _ = c.subject, c.issuer, c.extensions
    except (ValueError, x509.InvalidVersion) as exc:
        raise TrustPolicyError(f"{where}: {path} is not a PEM certificate file: {exc}") from None
    return certs


def _entry(where: str, entry: Any, fields: set[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise TrustPolicyError(f"{where} must be a mapping")
    extra = set(entry) - fields
    if extra:
        raise TrustPolicyError(f"{where}: unknown field {sorted(extra)[0]!r}")
    name = entry.get("name", "")
    if "name" in fields and not (isinstance(name, str) and _NAME.fullmatch(name)):
        raise TrustPolicyError(
            f"{where}.name must be a short name (letters, digits, '.', '_', '-'), such as build-ca"
        )
    return entry


def _root(p: Path, where: str, raw: Any) -> CertificateRoot:
    entry = _entry(where, raw, {"name", "certificate", "intermediates", "extended_key_usage"})
    certs = _certificates(p, entry.get("certificate"), f"{where}.certificate")
    if len(certs) != 1:
        raise TrustPolicyError(
            f"{where}.certificate must hold exactly one certificate (the CA's root), not "
            f"{len(certs)}: list the others under 'intermediates'"
        )
    files = entry.get("intermediates") or []
    if not isinstance(files, list):
        raise TrustPolicyError(f"{where}.intermediates must be a list of PEM file paths")
    intermediates = tuple(
        c for i, f in enumerate(files) for c in _certificates(p, f, f"{where}.intermediates[{i}]")
    )
    usage = entry.get("extended_key_usage", CODE_SIGNING)
    if usage not in (CODE_SIGNING, ANY_USAGE):
        raise TrustPolicyError(
            f"{where}.extended_key_usage must be {CODE_SIGNING} (leaves must be code-signing "
            f"certificates, the default) or {ANY_USAGE} (any leaf of this CA, as witness checks)"
        )
    return CertificateRoot(entry["name"], entry["certificate"], certs[0], intermediates,
                           usage == ANY_USAGE)  # fmt: skip


def _authority(p: Path, where: str, raw: Any) -> TimestampAuthority:
    entry = _entry(where, raw, {"name", "certificates"})
    certs = _certificates(p, entry.get("certificates"), f"{where}.certificates")
    roots = tuple(c for c in certs if c.subject == c.issuer)
    if not roots:
        raise TrustPolicyError(
            f"{where}.certificates holds no root (self-signed) certificate: give the TSA's "
            "whole chain, its root included"
        )
    others = tuple(c for c in certs if c not in roots)
    return TimestampAuthority(entry["name"], entry["certificates"], roots, others)


def _signer(where: str, raw: Any, roots: tuple[CertificateRoot, ...]) -> CertificateSigner:
    entry = _entry(where, raw, {*CONSTRAINTS, "roots", "projects", "workflows", "untrusted_after"})
    constraints = []
    for kind in CONSTRAINTS:
        value = entry.get(kind)
        if kind == "common_name" and value is not None:
            if not isinstance(value, str) or not value:
                raise TrustPolicyError(f"{where}.common_name must be a non-empty string")
            value = [value]
        wanted = str_list(value, f"{where}.{kind}")
        if value is not None and not wanted:
            raise TrustPolicyError(f"{where}.{kind} must not be empty (leave it out instead)")
        if wanted:
            constraints.append((kind, wanted))
    if not constraints:
        raise TrustPolicyError(
            f"{where} needs at least one of {', '.join(CONSTRAINTS)}: a signer without "
            "constraints would trust every certificate its CA ever issued"
        )
    return CertificateSigner(
        _signer_roots(where, entry.get("roots"), roots),
        tuple(constraints),
        projects=str_list(entry.get("projects"), f"{where}.projects"),
        workflows=str_list(entry.get("workflows"), f"{where}.workflows"),
        untrusted_after=when(entry.get("untrusted_after"), f"{where}.untrusted_after"),
    )


def _signer_roots(where: str, value: Any, roots: tuple[CertificateRoot, ...]) -> tuple[str, ...]:
    names = tuple(r.name for r in roots)
    return root_names(where, value, names, kind="roots", of="the x509 section", who="signer")


def _listed(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise TrustPolicyError(f"{where}.{key} must be a list")
    return value


def load_x509(p: Path, data: Any) -> X509Trust | None:
    """The policy's ``x509`` section (None when absent)."""
    if data is None:
        return None
    where = f"{p}: x509"
    section = _entry(where, data, {"roots", "timestamp_authorities", "signers"})
    roots = tuple(
        _root(p, f"{where}.roots[{i}]", e) for i, e in enumerate(_listed(section, "roots", where))
    )
    tsas = tuple(
        _authority(p, f"{where}.timestamp_authorities[{i}]", e)
        for i, e in enumerate(_listed(section, "timestamp_authorities", where))
    )
    for kind, named in (("roots", roots), ("timestamp_authorities", tsas)):
        names = [n.name for n in named]
        if len(set(names)) != len(names):
            raise TrustPolicyError(f"{where}.{kind}: two entries are named alike")
    if not roots:
        raise TrustPolicyError(f"{where}.roots must name at least one certificate authority")
    signers = tuple(
        _signer(f"{where}.signers[{i}]", e, roots)
        for i, e in enumerate(_listed(section, "signers", where))
    )
    if not signers:
        raise TrustPolicyError(f"{where}.signers must name the certificates that are trusted")
    return X509Trust(roots, signers, tsas)
