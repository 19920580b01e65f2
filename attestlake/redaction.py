"""Redaction: credentials never leave the runner, and are never printed.

Values recorded from a runner's environment, annotations and messages that quote a user's
input may carry a credential by accident: a clone URL with a token in it
(``https://user:ghp_…@github.com/org/repo``), an access key pasted into an allow-listed
variable. :func:`redact` removes them from any text:

- the userinfo of every URL (``scheme://user:password@host`` becomes ``scheme://host``); an
  ``ssh://git@host`` user name without a password stays, as does ``git@host:org/repo``;
- ``user:password@host`` without a scheme;
- credential-named query parameters (``?access_token=…``, ``&sig=…``);
- tokens of known shapes: GitHub (``ghp_``, ``gho_``, ``ghs_``, ``ghu_``, ``ghr_``,
  ``github_pat_``), GitLab (``glpat-`` and its other ``gl…-`` tokens), AWS access key ids
  (``AKIA…``, ``ASIA…``) and the secret keys written next to them, and JSON Web Tokens;
- the credential of an HTTP ``Authorization`` value (``Basic …``, ``Bearer …``);
- the value of each secret variable of :data:`SECRET_VARIABLES` set in the environment (a
  registry or key password), however it is spelled: as is, JSON-escaped or percent-encoded.

Each removed credential becomes :data:`REDACTED`. Commit SHAs, ``sha256:`` digests, image
references and ordinary URLs are left as they are.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"

#: Variables whose values are secrets wherever they appear.
SECRET_VARIABLES = (
    "ATTESTLAKE_REGISTRY_PASSWORD",
    "ATTESTLAKE_KEY_PASSWORD",
    "COSIGN_PASSWORD",
    "SIGSTORE_ID_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
#: Shorter secret values are not searched for (they would match ordinary words).
MIN_SECRET = 4

# scheme://userinfo@host: the userinfo ends at the last '@' before any '/' or space.
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]{0,31}://)(?P<userinfo>[^/\s\"<>]{0,4096})@"
)
# user:password@host without a scheme; not an image reference's tag@sha256:digest.
_BARE_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<userinfo>[A-Za-z0-9._~%+-]{1,256}:[^\s/\"<>]{1,1024})@"
    r"(?!(?:sha256|sha384|sha512):)(?=[A-Za-z0-9\[])"
)
_SECRET_PARAMS = re.compile(
    r"(?i)(?P<name>[?&;](?:access[_-]?token|private[_-]?token|auth[_-]?token|id[_-]?token|"
    r"token|api[_-]?key|apikey|client[_-]?secret|secret|password|passwd|pwd|sig|signature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature)=)"
    r"(?P<value>[^&#\s]+)"
)
_TOKENS = re.compile(
    "|".join(
        (
            r"\bgh[pousr]_[A-Za-z0-9]{20,}",
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\bgl(?:pat|dt|rt|cbt|ptt|ft|imt|oas|soat|agent)-[A-Za-z0-9_.-]{20,}",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        )
    )
)
_AWS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
# A secret access key: 40 characters of base64 (not a 40-hex commit SHA).
_AWS_SECRET = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[G-Zg-z/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)
_AWS_SECRET_NAMED = re.compile(
    r"(?i)(?P<name>aws_?secret_?(?:access_?)?key\"?\s*[=:]\s*\"?)(?P<value>[A-Za-z0-9/+=]+)"
)
_AUTHORIZATION = re.compile(
    r"(?i)(?P<name>\b(?:Basic|Bearer)\s+)(?P<value>[A-Za-z0-9+/._~-]{8,}=*)"
)
_SSH_SCHEMES = ("ssh://", "git+ssh://", "ssh+git://", "sftp://")


def spellings(secret: str) -> list[str]:
    """How ``secret`` can appear in a message: as is, JSON-escaped (ASCII or not) and
    percent-encoded; longest first."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    }
    return sorted((f for f in forms if len(f) >= MIN_SECRET), key=len, reverse=True)


def without(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every spelling of each of ``secrets`` replaced by :data:`REDACTED`."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            for form in spellings(secret):
                text = text.replace(form, REDACTED)
    return text


def _userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match["scheme"], match["userinfo"]
    if scheme.lower() in _SSH_SCHEMES and ":" not in userinfo and not _has_token(userinfo):
        return match[0]  # an ssh user name (git@), not a credential
    return scheme


def _has_token(text: str) -> bool:
    return bool(_TOKENS.search(text) or _AWS_KEY_ID.search(text))


def redact(text: str) -> str:
    """``text`` without any credential it holds (see the module doc)."""
    if not text:
        return text
    text = without(text, (os.environ.get(name) for name in SECRET_VARIABLES))
    text = _AUTHORIZATION.sub(lambda m: m["name"] + REDACTED, text)
    text = _URL_USERINFO.sub(_userinfo, text)
    text = _BARE_USERINFO.sub(f"{REDACTED}@", text)
    text = _SECRET_PARAMS.sub(lambda m: m["name"] + REDACTED, text)
    text = _TOKENS.sub(REDACTED, text)
    text = _AWS_SECRET_NAMED.sub(lambda m: m["name"] + REDACTED, text)
    if _AWS_KEY_ID.search(text):
        text = _AWS_KEY_ID.sub(REDACTED, text)
        text = _AWS_SECRET.sub(REDACTED, text)
    return text


def redact_optional(text: str | None) -> str | None:
    """:func:`redact`, passing None through."""
    return None if text is None else redact(text)


def redact_values(values: Mapping[str, str]) -> dict[str, str]:
    """``values`` with every value redacted (the names are kept)."""
    return {name: redact(value) for name, value in values.items()}


def _split(reference: str) -> tuple[str, str, str]:
    scheme, sep, rest = reference.partition("://") if "://" in reference else ("", "", reference)
    head, slash, path = rest.partition("/")
    return scheme + sep, head, slash + path


def has_userinfo(reference: str) -> bool:
    """Whether a store reference or URL names a user or password (``user:pass@host/...``)."""
    return "@" in _split(reference)[1]


def without_userinfo(reference: str) -> str:
    """``reference`` with everything before the last ``@`` of its host part removed."""
    scheme, head, path = _split(reference)
    return redact(scheme + head.rpartition("@")[2] + path)


__all__ = [
    "MIN_SECRET",
    "REDACTED",
    "SECRET_VARIABLES",
    "has_userinfo",
    "redact",
    "redact_optional",
    "redact_values",
    "spellings",
    "without",
    "without_userinfo",
]
