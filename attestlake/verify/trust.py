"""Trust policies: which signers the crawler and ``attestlake verify`` accept.

A policy is YAML (the full format and every outcome are in ``docs/trust-policy.md``)::

    trusted_root: sigstore-public-good   # or a path to a Sigstore trusted_root.json
    identities:                          # Sigstore keyless signers
      - issuer: https://token.actions.githubusercontent.com
        subject: https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main
      - issuer: https://token.actions.githubusercontent.com
        subject_regex: ^https://github\\.com/myorg/
        projects: [payments]             # optional scope, as for keys
    declared_state:                      # who publishes contracts and inventories, and where
      stores: [registry.example.com/secops]
      keys: [keys/secops.pub.pem]        # and/or identities:, as below
    keys:                                # public keys (SPKI PEM); paths relative to this file
      - path: keys/team-a.pub.pem
        projects: [payments]             # optional scope: only attestations of these projects
        workflows: [build]               # optional scope: only these workflows
        untrusted_after: 2026-10-01T00:00:00Z  # optional revocation (keys and identities)

A valid signature by a signer outside its scope is reported as ``untrusted_signer``; one made
after the signer's ``untrusted_after`` time (see :func:`revoked_since`) as ``revoked``. A scoped
signer only verifies statements that name a project and workflow in its scope (where each
predicate type names them: :mod:`attestlake.intoto.claims`); a statement that names none (another
tool's predicate) is out of every scope. Unscoped signers verify any statement whose claims
agree. Several named Sigstore roots, and the root(s) each identity is trusted under:
:mod:`attestlake.verify.roots`. X.509 certificate signers (in-toto witness), their CA roots and
timestamp authorities (the ``x509`` section): :mod:`attestlake.verify.x509_trust`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from attestlake._internal._files import read_input
from attestlake._internal.untrusted_yaml import compose_bounded
from attestlake.errors import KeyError_, TrustPolicyError
from attestlake.redaction import redact
from attestlake.signing.keys import (
    PublicKey,
    key_id,
    load_public_key,
    public_pem,
    securesystemslib_keyid,
)
from attestlake.store.reference import malformed_registry, store_identity
from attestlake.verify.policy_fields import in_scope, scope_text, str_list, when
from attestlake.verify.roots import (
    DEFAULT_ROOT,
    PUBLIC_GOOD,
    SigstoreRoot,
    identity_roots,
    load_roots,
    resolve,
)
from attestlake.verify.x509_trust import CertificateSigner, X509Trust, load_x509

__all__ = ["PUBLIC_GOOD", "SigstoreRoot", "TrustPolicy", "read_policy"]


@dataclass(frozen=True)
class TrustedKey:
    path: str
    key: PublicKey
    key_id: str
    projects: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    #: Other spellings of this key's id that envelopes use as ``keyid`` (bare hex of the SPKI
    #: hash; the sha256 of the PEM file, as witness and archivista write it).
    aliases: tuple[str, ...] = ()
    #: Revocation: signatures made after this time are not trusted (``revoked``).
    untrusted_after: datetime | None = None

    def allows(self, project: str | None, workflow: str | None) -> bool:
        return in_scope(self.projects, self.workflows, project, workflow)

    def scope(self) -> str:
        return scope_text(self.projects, self.workflows)


@dataclass(frozen=True)
class TrustedIdentity:
    """A Sigstore keyless signer: an OIDC issuer and a certificate identity (SAN)."""

    issuer: str
    subject: str | None = None
    subject_regex: str | None = None
    projects: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    #: Revocation: signatures made after this time are not trusted (``revoked``).
    untrusted_after: datetime | None = None
    #: The names of the policy's Sigstore roots this identity is trusted under.
    roots: tuple[str, ...] = (DEFAULT_ROOT,)

    @property
    def label(self) -> str:
        return self.subject if self.subject is not None else f"~{self.subject_regex}"

    def matches(self, subject: str | None, issuer: str | None) -> bool:
        """True if a certificate for ``subject`` issued via ``issuer`` is this identity."""
        if subject is None or issuer != self.issuer:
            return False
        if self.subject is not None:
            return subject == self.subject
        return self.pattern is not None and self.pattern.search(subject) is not None

    def allows(self, project: str | None, workflow: str | None) -> bool:
        return in_scope(self.projects, self.workflows, project, workflow)

    def scope(self) -> str:
        return scope_text(self.projects, self.workflows)


@dataclass(frozen=True)
class DeclaredState:
    """Who may declare SecOps's state (publish contracts and inventories), and where: a
    published document is trusted only from one of ``stores`` (by :func:`store_identity`),
    its declaration signed by one of ``keys`` or ``identities``."""

    stores: tuple[str, ...]
    keys: tuple[TrustedKey, ...] = ()
    identities: tuple[TrustedIdentity, ...] = ()

    def trusts_store(self, ref: str) -> bool:
        return store_identity(ref) in self.stores


@dataclass(frozen=True)
class TrustPolicy:
    source: str
    keys: tuple[TrustedKey, ...]
    identities: tuple[TrustedIdentity, ...] = ()
    #: The Sigstore roots of trust, each named (one, ``default``, unless the policy lists
    #: ``trusted_roots``).
    roots: tuple[SigstoreRoot, ...] = (SigstoreRoot(DEFAULT_ROOT, PUBLIC_GOOD),)
    #: Who publishes contracts and inventories; None: declared state is never trusted.
    declared: DeclaredState | None = None
    #: X.509 certificate authorities, timestamp authorities and certificate signers (the
    #: ``x509`` section), or None.
    x509: X509Trust | None = None

    @functools.cached_property
    def declarations(self) -> TrustPolicy:
        """The policy that verifies declarations: the ``declared_state`` signers only."""
        ds = self.declared
        keys, identities = (ds.keys, ds.identities) if ds else ((), ())
        return TrustPolicy(self.source, keys, identities, self.roots)

    @property
    def empty(self) -> bool:
        return not self.keys and not self.identities and self.x509 is None

    @functools.cached_property
    def digest(self) -> str:
        """``sha256:`` of what the policy trusts (keys by path and SPKI hash, identities, scopes,
        revocations, every trusted root's content and, with several roots, their names and the
        roots of each identity): two files that trust the same signers the same way have one
        digest; a changed key file, root file, scope or date changes it. Every verdict in a
        lake records the digest of the policy it was made under."""
        several = len(self.roots) > 1
        root: Any = (
            [[r.name, r.content_digest()] for r in self.roots]
            if several
            else self.roots[0].content_digest()
        )

        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        ds = self.declared
        data: dict[str, Any] = {
            "declared_state": None
            if ds is None
            else [
                ds.stores,
                TrustPolicy(self.source, ds.keys, ds.identities, self.roots).digest,
            ],
            "keys": [
                [k.path, k.key_id, k.projects, k.workflows, iso(k.untrusted_after)]
                for k in self.keys
            ],
            "identities": [
                [
                    i.issuer,
                    i.subject,
                    i.subject_regex,
                    i.projects,
                    i.workflows,
                    iso(i.untrusted_after),
                    *([i.roots] if several else []),
                ]
                for i in self.identities
            ],
            "trusted_root": root,
        }
        if self.x509 is not None:  # absent, the digest of every other policy is unchanged
            data["x509"] = self.x509.digest_data()
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def key_by_id(self, kid: str) -> TrustedKey | None:
        if not kid:
            return None
        return next((k for k in self.keys if kid == k.key_id or kid in k.aliases), None)


def revoked_since(
    trusted: TrustedKey | TrustedIdentity | CertificateSigner, signed_at: datetime
) -> str | None:
    """Why a signature by ``trusted`` made at ``signed_at`` is not trusted (it is after the
    signer's ``untrusted_after``), or None."""
    cutoff = trusted.untrusted_after
    if cutoff is None or signed_at <= cutoff:
        return None
    return f"untrusted for signatures after {cutoff.isoformat()}"


def npm_keyid(key: PublicKey) -> str:
    """How npm's registry names a key (``/-/npm/v1/keys``, and the ``publicKey.hint`` of its
    publish attestations): ``SHA256:`` and the unpadded base64 of the SPKI's SHA-256."""
    spki = bytes.fromhex(key_id(key).removeprefix("sha256:"))
    return "SHA256:" + base64.b64encode(spki).decode().rstrip("=")


def _key_aliases(key: PublicKey, pem_file: bytes) -> tuple[str, ...]:
    canonical = key_id(key)
    ids = {
        canonical.removeprefix("sha256:"),
        npm_keyid(key),
        hashlib.sha256(public_pem(key)).hexdigest(),
        hashlib.sha256(pem_file).hexdigest(),
        securesystemslib_keyid(key),
    }
    return tuple(sorted(i for i in ids - {canonical} if i is not None))


def _load_keys(p: Path, entries: Any, field_name: str = "keys") -> tuple[TrustedKey, ...]:
    if not isinstance(entries, list):
        raise TrustPolicyError(f"{p}: {field_name} must be a list of {{path: ...}}")
    keys = []
    for i, entry in enumerate(entries):
        where = f"{p}: {field_name}[{i}]"
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise TrustPolicyError(f"{where} needs a 'path' to a PEM public key")
        extra = set(entry) - {"path", "projects", "workflows", "untrusted_after"}
        if extra:
            raise TrustPolicyError(f"{where}: unknown field {sorted(extra)[0]!r}")
        key_path = resolve(p, entry["path"])
        try:
            key = load_public_key(key_path)
            pem_file = key_path.read_bytes()
        except KeyError_ as exc:
            raise TrustPolicyError(f"{where}: {exc}") from None
        except OSError as exc:
            raise TrustPolicyError(f"{where}: cannot read {key_path}: {exc.strerror}") from None
        keys.append(
            TrustedKey(
                path=entry["path"],
                key=key,
                key_id=key_id(key),
                projects=str_list(entry.get("projects"), f"{where}.projects"),
                workflows=str_list(entry.get("workflows"), f"{where}.workflows"),
                aliases=_key_aliases(key, pem_file),
                untrusted_after=when(entry.get("untrusted_after"), f"{where}.untrusted_after"),
            )
        )
    return tuple(keys)


def _load_identity(where: str, entry: Any, roots: tuple[SigstoreRoot, ...]) -> TrustedIdentity:
    if not isinstance(entry, dict):
        raise TrustPolicyError(f"{where} must be a mapping with 'issuer' and 'subject'")
    extra = set(entry) - {
        "issuer",
        "subject",
        "subject_regex",
        "projects",
        "workflows",
        "untrusted_after",
        "roots",
    }
    if extra:
        raise TrustPolicyError(f"{where}: unknown field {sorted(extra)[0]!r}")
    issuer, subject, regex = entry.get("issuer"), entry.get("subject"), entry.get("subject_regex")
    if not isinstance(issuer, str) or not issuer:
        raise TrustPolicyError(f"{where} needs an 'issuer' (the OIDC issuer URL)")
    if (subject is None) == (regex is None):
        raise TrustPolicyError(f"{where} needs exactly one of 'subject' and 'subject_regex'")
    for name, value in (("subject", subject), ("subject_regex", regex)):
        if value is not None and (not isinstance(value, str) or not value):
            raise TrustPolicyError(f"{where}.{name} must be a non-empty string")
    pattern = None
    if regex is not None:
        if not regex.startswith("^"):
            raise TrustPolicyError(
                f"{where}.subject_regex must start with '^': an unanchored pattern matches "
                "anywhere in the identity (write ^https://github\\.com/myorg/)"
            )
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise TrustPolicyError(f"{where}.subject_regex is not a valid regex: {exc}") from None
    return TrustedIdentity(
        issuer=issuer,
        subject=subject,
        subject_regex=regex,
        projects=str_list(entry.get("projects"), f"{where}.projects"),
        workflows=str_list(entry.get("workflows"), f"{where}.workflows"),
        pattern=pattern,
        untrusted_after=when(entry.get("untrusted_after"), f"{where}.untrusted_after"),
        roots=identity_roots(where, entry.get("roots"), roots),
    )


def read_policy(path: Path | str) -> TrustPolicy:
    """Read and check a trust policy file (its Sigstore trusted root is loaded by
    :func:`attestlake.verify.verify.load_policy`)."""
    p = Path(path)
    raw = read_input(p, "trust policy", TrustPolicyError)
    try:
        _, data = compose_bounded(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TrustPolicyError(f"{p}: cannot read trust policy: {exc}") from None
    if not isinstance(data, dict):
        raise TrustPolicyError(f"{p}: a trust policy is a YAML mapping with 'keys'")
    fields = {
        "keys",
        "identities",
        "trusted_root",
        "trusted_roots",
        "legacy_log_entries",
        "declared_state",
        "x509",
    }
    unknown = set(data) - fields
    if unknown:
        raise TrustPolicyError(f"{p}: unknown field {sorted(unknown)[0]!r}")
    keys = _load_keys(p, data.get("keys") or [])
    roots = load_roots(p, data)
    identities = _load_identities(p, "identities", data.get("identities"), roots)
    declared = _load_declared(p, data.get("declared_state"), roots)
    x509_trust = load_x509(p, data.get("x509"))
    return TrustPolicy(str(p), keys, identities, roots, declared, x509_trust)


def _load_identities(
    p: Path, where: str, entries: Any, roots: tuple[SigstoreRoot, ...]
) -> tuple[TrustedIdentity, ...]:
    entries = entries or []
    if not isinstance(entries, list):
        raise TrustPolicyError(f"{p}: {where} must be a list of {{issuer, subject}}")
    return tuple(_load_identity(f"{p}: {where}[{i}]", e, roots) for i, e in enumerate(entries))


def _load_declared(p: Path, data: Any, roots: tuple[SigstoreRoot, ...]) -> DeclaredState | None:
    """The ``declared_state`` section: ``stores`` (one store each, no wildcard), and the
    ``keys`` and ``identities`` that sign declarations (unscoped: a declaration names no
    project)."""
    if data is None:
        return None
    where = f"{p}: declared_state"
    if not isinstance(data, dict):
        raise TrustPolicyError(f"{where} must be a mapping with 'stores' and 'keys'/'identities'")
    unknown = set(data) - {"stores", "keys", "identities"}
    if unknown:
        raise TrustPolicyError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    stores = str_list(data.get("stores"), f"{where}.stores")
    if not stores:
        raise TrustPolicyError(f"{where}.stores must name the store(s) SecOps publishes to")
    for store in stores:
        if store.endswith("*"):
            raise TrustPolicyError(
                f"{where}.stores: {store!r} would trust every repository of a registry: name "
                "each store SecOps publishes to"
            )
        if malformed_registry(store):
            raise TrustPolicyError(
                f"{where}.stores: {redact(store)!r} is not a registry repository (expected "
                "HOST[:PORT]/REPOSITORY, lower-case, no trailing slash, no credentials) nor "
                "oci:PATH: it would name no store SecOps publishes to"
            )
    keys = _load_keys(p, data.get("keys") or [], "declared_state.keys")
    identities = _load_identities(p, "declared_state.identities", data.get("identities"), roots)
    if not keys and not identities:
        raise TrustPolicyError(f"{where} needs the keys or identities that sign declarations")
    scoped: list[TrustedKey | TrustedIdentity] = [*keys, *identities]
    for signer in scoped:
        if signer.projects or signer.workflows:
            raise TrustPolicyError(
                f"{where}: a declaration names no project or workflow: its signers take no "
                "'projects' or 'workflows' scope"
            )
    base = p.resolve().parent
    return DeclaredState(tuple(store_identity(s, base) for s in stores), keys, identities)
