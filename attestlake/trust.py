"""Trust policies: which signers the crawler and ``attestlake verify`` accept.

A policy is YAML::

    keys:                       # public keys (SPKI PEM); relative paths are relative to this file
      - path: keys/team-a.pub.pem
        projects: [payments]    # optional scope: only attestations of these projects
        workflows: [build]      # optional scope: only these workflows

A signature by a key outside its scope is reported as ``untrusted_signer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from attestlake.errors import KeyError_, TrustPolicyError
from attestlake.keys import PublicKey, key_id, load_public_key


@dataclass(frozen=True)
class TrustedKey:
    path: str
    key: PublicKey
    key_id: str
    projects: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()

    def allows(self, project: str | None, workflow: str | None) -> bool:
        if self.projects and project not in self.projects:
            return False
        return not (self.workflows and workflow not in self.workflows)


@dataclass(frozen=True)
class TrustPolicy:
    source: str
    keys: tuple[TrustedKey, ...]

    @property
    def empty(self) -> bool:
        return not self.keys

    def key_by_id(self, kid: str) -> TrustedKey | None:
        return next((k for k in self.keys if k.key_id == kid), None)


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrustPolicyError(f"{where} must be a list of strings")
    return tuple(value)


def load_policy(path: Path | str) -> TrustPolicy:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrustPolicyError(f"{p}: no such trust policy file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TrustPolicyError(f"{p}: cannot read trust policy: {exc}") from None
    if not isinstance(data, dict):
        raise TrustPolicyError(f"{p}: a trust policy is a YAML mapping with 'keys'")
    unknown = set(data) - {"keys", "identities", "trusted_root"}
    if unknown:
        raise TrustPolicyError(f"{p}: unknown field {sorted(unknown)[0]!r}")
    entries = data.get("keys") or []
    if not isinstance(entries, list):
        raise TrustPolicyError(f"{p}: keys must be a list of {{path: ...}}")
    keys = []
    for i, entry in enumerate(entries):
        where = f"{p}: keys[{i}]"
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise TrustPolicyError(f"{where} needs a 'path' to a PEM public key")
        extra = set(entry) - {"path", "projects", "workflows"}
        if extra:
            raise TrustPolicyError(f"{where}: unknown field {sorted(extra)[0]!r}")
        key_path = (
            (p.parent / entry["path"]).resolve()
            if not Path(entry["path"]).is_absolute()
            else Path(entry["path"])
        )
        try:
            key = load_public_key(key_path)
        except KeyError_ as exc:
            raise TrustPolicyError(f"{where}: {exc}") from None
        keys.append(
            TrustedKey(
                path=entry["path"],
                key=key,
                key_id=key_id(key),
                projects=_str_list(entry.get("projects"), f"{where}.projects"),
                workflows=_str_list(entry.get("workflows"), f"{where}.workflows"),
            )
        )
    return TrustPolicy(str(p), tuple(keys))
