"""HTTP plumbing of the registry store: credentials, bounded reads, registry error bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import ContentError, StoreError, TransportError


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class Auth(requests.auth.AuthBase):
    """Adds Bearer (once obtained) or Basic credentials, only for requests to ``origin``."""

    def __init__(self, origin: tuple[str, str] | None, basic: tuple[str, str] | None) -> None:
        self.origin, self.basic = origin, basic
        self.token: str | None = None

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.origin is not None and origin(str(r.url)) != self.origin:
            return r
        if self.token:
            r.headers["Authorization"] = f"Bearer {self.token}"
        elif self.basic:
            r.prepare_auth(self.basic)
        return r


def reason(exc: requests.RequestException, timeout: float | None = None) -> str:
    text = str(exc)
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout}s" if timeout else "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    for needle, reason in (
        ("refused", "connection refused"),
        ("NameResolution", "host name does not resolve"),
        ("Name or service not known", "host name does not resolve"),
        ("reset by peer", "connection reset"),
    ):
        if needle in text:
            return reason
    return type(exc).__name__


def read_bounded(resp: requests.Response, limit: int, what: str) -> bytes:
    """The response body, or ContentError as soon as it is longer than ``limit`` bytes;
    TransportError when the connection breaks or ends before the ``Content-Length`` it
    announced."""
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise ContentError(f"{what} is {length} bytes, over the {limit}-byte bound")
    buf = bytearray()
    try:
        for chunk in resp.iter_content(chunk_size=min(65536, limit + 1)):
            buf += chunk
            if len(buf) > limit:
                raise ContentError(f"{what} is over the {limit}-byte bound")
    except requests.RequestException as exc:
        raise TransportError(f"reading {what} from {resp.url} failed: {reason(exc)}") from None
    encoded = resp.headers.get("Content-Encoding", "identity") != "identity"
    if length.isdigit() and len(buf) < int(length) and not encoded:
        raise TransportError(
            f"reading {what} from {resp.url} failed: cut short at {len(buf)} of {length} bytes"
        )
    return bytes(buf)


def errors_from(raw: bytes) -> list[dict[str, Any]]:
    try:
        errors = loads(raw, max_bytes=len(raw), max_depth=16, what="error body").get("errors")
    except (MalformedJSON, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def registry_errors(resp: requests.Response) -> list[dict[str, Any]]:
    try:
        return errors_from(read_bounded(resp, 65536, "error body"))
    except StoreError:
        return []
