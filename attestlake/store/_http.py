"""HTTP plumbing of the registry store: credentials, bounded reads, registry error bodies."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import ContentError, StoreError, TransportError
from attestlake.store._watchdog import WATCHDOG, Alarm

#: Seconds a whole answer may take to arrive when the caller does not say (a registry that
#: sends one byte just before each read timeout would otherwise never finish).
DEADLINE = 300.0


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


def _shut(sock: object) -> None:
    """Shut ``sock`` down, waking any thread blocked reading or writing it (for TLS, the raw
    socket under the TLS layer, which then fails the blocked call)."""
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _DeadlineConnection(HTTPConnection):
    """A connection on which sending a request and receiving its answer's headers must be done
    within ``deadline`` seconds (a server that sends one byte just before each read timeout
    would otherwise keep it for ever): past it, the socket is shut down."""

    deadline = DEADLINE
    _alarm: Alarm | None = None

    def _disarm(self) -> None:
        if self._alarm is not None:
            self._alarm.cancel()

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._disarm()
        self._alarm = WATCHDOG.arm(self.deadline, lambda: _shut(getattr(self, "sock", None)))
        try:
            super().request(*args, **kwargs)
        except BaseException:
            self._disarm()
            raise

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().getresponse(*args, **kwargs)
        finally:
            self._disarm()
        if self._alarm is not None and self._alarm.fired:  # the headers were cut off
            response.close()
            raise TimeoutError(f"no complete answer within {self.deadline:g}s")
        return response


class _DeadlineTLSConnection(_DeadlineConnection, HTTPSConnection):
    pass


def deadline_adapter(seconds: float) -> HTTPAdapter:
    """A transport adapter whose connections give up a request whose headers have not all
    arrived ``seconds`` after it started being sent (see :func:`read_bounded` for bodies)."""
    plain = type("Connection", (_DeadlineConnection,), {"deadline": seconds})
    tls = type("TLSConnection", (_DeadlineTLSConnection,), {"deadline": seconds})
    pools = {
        "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("TLSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

    return Adapter()


def _socket_of(resp: requests.Response) -> object:
    return getattr(getattr(resp.raw, "connection", None), "sock", None)


@contextlib.contextmanager
def _deadline(resp: requests.Response, seconds: float) -> Iterator[Alarm]:
    """An alarm that fires, and shuts the connection down, ``seconds`` from now: a read
    blocked on the socket then returns at once instead of waiting for the next byte."""
    sock = _socket_of(resp)
    alarm = WATCHDOG.arm(seconds, lambda: _shut(sock))
    try:
        yield alarm
    finally:
        alarm.cancel()


def read_bounded(
    resp: requests.Response, limit: int, what: str, seconds: float = DEADLINE
) -> bytes:
    """The response body, or ContentError as soon as it is longer than ``limit`` bytes;
    TransportError when the connection breaks, the body ends before the ``Content-Length``
    it announced, or it has not all arrived within ``seconds``."""
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise ContentError(f"{what} is {length} bytes, over the {limit}-byte bound")
    buf = bytearray()
    late = TransportError(
        f"reading {what} from {resp.url} failed: not complete within {seconds:g}s "
        "(a slow or stalled registry)"
    )
    with _deadline(resp, seconds) as expired:
        try:
            for chunk in resp.iter_content(chunk_size=min(65536, limit + 1)):
                buf += chunk
                if len(buf) > limit:
                    raise ContentError(f"{what} is over the {limit}-byte bound")
                if expired.fired:
                    raise late
        except requests.RequestException as exc:
            if expired.fired:
                raise late from None
            raise TransportError(f"reading {what} from {resp.url} failed: {reason(exc)}") from None
    if expired.fired:
        raise late
    encoded = resp.headers.get("Content-Encoding", "identity") != "identity"
    if length.isdigit() and len(buf) < int(length) and not encoded:
        raise TransportError(
            f"reading {what} from {resp.url} failed: cut short at {len(buf)} of {length} bytes"
        )
    return bytes(buf)


def drain(resp: requests.Response, limit: int, seconds: float = DEADLINE) -> None:
    """Read and drop the body of an answer whose body nobody needs, so that its connection can
    serve the next request; past ``limit`` bytes, a broken connection or ``seconds``, stop
    (closing the answer then closes its connection)."""
    read = 0
    with _deadline(resp, seconds), contextlib.suppress(requests.RequestException):
        for chunk in resp.iter_content(chunk_size=65536):
            read += len(chunk)
            if read > limit:
                break


def errors_from(raw: bytes) -> list[dict[str, Any]]:
    try:
        errors = loads(raw, max_bytes=len(raw), max_depth=16, what="error body").get("errors")
    except (MalformedJSON, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def registry_errors(resp: requests.Response, seconds: float = DEADLINE) -> list[dict[str, Any]]:
    try:
        return errors_from(read_bounded(resp, 65536, "error body", seconds))
    except StoreError:
        return []
