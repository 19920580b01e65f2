"""The Sigstore trusted roots of a trust policy, each named, and which root each keyless
identity is trusted under.

One root is written ``trusted_root: sigstore-public-good`` (or a path to a
``trusted_root.json``); several are listed by name::

    trusted_roots:
      - name: public-good
        trusted_root: sigstore-public-good
      - name: github
        trusted_root: roots/github.trusted_root.json
    identities:
      - issuer: https://token.actions.githubusercontent.com
        subject_regex: ^https://github\\.com/myorg/
        roots: [github]

A bundle verifies only under a root that its identity names. With one root, identities need
not name it; with several, every identity must.

A root may opt in to legacy Rekor entry kinds (:data:`LEGACY_LOG_ENTRIES`) for the Sigstore
bundles it certifies: ``legacy_log_entries: [intoto/0.0.2]`` on its ``trusted_roots`` entry
(or beside ``trusted_root``). Off by default: such an entry is then ``unsupported``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attestlake.errors import TrustPolicyError
from attestlake.intoto.bundles import LEGACY_LOG_ENTRIES as LEGACY_BUNDLE_ENTRIES
from attestlake.verify.policy_fields import root_names

#: The ``trusted_root`` that means the Sigstore public-good root embedded in sigstore-python.
PUBLIC_GOOD = "sigstore-public-good"
#: The name of the root given by ``trusted_root`` (or of the public-good default).
DEFAULT_ROOT = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: The legacy Rekor entry kinds a root may opt in to (verified by attestlake itself:
#: :mod:`attestlake.verify.legacy_entry`).
LEGACY_LOG_ENTRIES = tuple("/".join(kind) for kind in LEGACY_BUNDLE_ENTRIES)


@dataclass(frozen=True)
class SigstoreRoot:
    """A named Sigstore root of trust: ``sigstore-public-good`` or a trusted_root.json."""

    name: str
    #: :data:`PUBLIC_GOOD` or the absolute path of a trusted_root.json.
    source: str
    #: The legacy log entry kinds (``kind/version``) this root opts in to.
    legacy_log_entries: tuple[str, ...] = ()

    def content_digest(self) -> str:
        """What the root trusts, for the policy digest: the public-good name, or the
        ``sha256:`` of the file's bytes (a changed file changes the digest), and the legacy
        entry kinds it opts in to, if any."""
        if self.source == PUBLIC_GOOD:
            content = PUBLIC_GOOD
        else:
            content = "sha256:" + hashlib.sha256(Path(self.source).read_bytes()).hexdigest()
        if self.legacy_log_entries:
            content += " legacy_log_entries=" + ",".join(self.legacy_log_entries)
        return content


def resolve(policy_path: Path, value: str) -> Path:
    """``value`` as a path, relative to the policy file's folder unless absolute."""
    return Path(value) if Path(value).is_absolute() else (policy_path.parent / value).resolve()


def _source(p: Path, value: Any, where: str) -> str:
    if value == PUBLIC_GOOD:
        return PUBLIC_GOOD
    if not isinstance(value, str) or not value:
        raise TrustPolicyError(f"{where} must be {PUBLIC_GOOD!r} or a path")
    path = resolve(p, value)
    if not path.is_file():
        raise TrustPolicyError(f"{where} {path}: no such file")
    return str(path)


def _legacy(value: Any, where: str) -> tuple[str, ...]:
    """A ``legacy_log_entries`` list: kinds of :data:`LEGACY_LOG_ENTRIES` only."""
    if value is None:
        return ()
    kinds = ", ".join(LEGACY_LOG_ENTRIES)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrustPolicyError(f"{where} must be a list of log entry kinds ({kinds})")
    unknown = [v for v in value if v not in LEGACY_LOG_ENTRIES]
    if unknown:
        raise TrustPolicyError(
            f"{where}: {unknown[0]!r} is not a legacy log entry kind attestlake can verify "
            f"(only {kinds})"
        )
    return tuple(dict.fromkeys(value))


def _named_root(p: Path, i: int, entry: Any) -> SigstoreRoot:
    where = f"{p}: trusted_roots[{i}]"
    if not isinstance(entry, dict):
        raise TrustPolicyError(f"{where} must be a mapping with 'name' and 'trusted_root'")
    extra = set(entry) - {"name", "trusted_root", "legacy_log_entries"}
    if extra:
        raise TrustPolicyError(f"{where}: unknown field {sorted(extra)[0]!r}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TrustPolicyError(
            f"{where}.name must be a short name (letters, digits, '.', '_', '-'), such as "
            "public-good or github"
        )
    if "trusted_root" not in entry:
        raise TrustPolicyError(f"{where} needs a 'trusted_root' ({PUBLIC_GOOD!r} or a path)")
    return SigstoreRoot(
        name,
        _source(p, entry["trusted_root"], f"{where}.trusted_root"),
        _legacy(entry.get("legacy_log_entries"), f"{where}.legacy_log_entries"),
    )


def load_roots(p: Path, data: dict[str, Any]) -> tuple[SigstoreRoot, ...]:
    """The policy's roots: ``trusted_root`` (one, named ``default``; the public-good root when
    absent; its ``legacy_log_entries`` beside it) or ``trusted_roots`` (several, named, each
    with its own), never both."""
    single, several = data.get("trusted_root"), data.get("trusted_roots")
    if single is not None and several is not None:
        raise TrustPolicyError(
            f"{p}: give either trusted_root (one root) or trusted_roots (several, named), not both"
        )
    if several is None:
        value = PUBLIC_GOOD if single is None else single
        legacy = _legacy(data.get("legacy_log_entries"), f"{p}: legacy_log_entries")
        return (SigstoreRoot(DEFAULT_ROOT, _source(p, value, f"{p}: trusted_root"), legacy),)
    if "legacy_log_entries" in data:
        raise TrustPolicyError(
            f"{p}: with trusted_roots, give legacy_log_entries on the root entry that opts in"
        )
    if not isinstance(several, list) or not several:
        raise TrustPolicyError(
            f"{p}: trusted_roots must be a non-empty list of {{name, trusted_root}}"
        )
    roots = tuple(_named_root(p, i, e) for i, e in enumerate(several))
    names = [r.name for r in roots]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TrustPolicyError(f"{p}: trusted_roots: the name {twice[0]!r} is given twice")
    return roots


def identity_roots(where: str, value: Any, roots: tuple[SigstoreRoot, ...]) -> tuple[str, ...]:
    """The names of the roots an identity is trusted under (its ``roots`` field): required
    with several roots, the only root otherwise; every name one of ``roots``."""
    names = tuple(r.name for r in roots)
    return root_names(where, value, names, kind="trusted roots", of="the policy", who="identity")
