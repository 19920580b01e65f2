"""A fault-injecting HTTP proxy in front of a real registry (the ``registry`` fixture).

    with FaultProxy(registry.host) as proxy:
        proxy.inject("flip", r"/blobs/sha256:", count=1)   # the first blob read arrives damaged
        proxy.inject("status", r"/manifests/", count=2, status=502)
        ...crawl f"{proxy.host}/REPO"...
        assert proxy.injected("flip") == 1

Faults (``kind``), each for the requests whose path matches ``path`` (a regex searched in the
path and query) and, if given, whose ``method`` is it; ``count`` requests (None: every one):

- ``status``: answer ``status`` (default 503) with a registry error body;
- ``throttle``: answer 429 with ``Retry-After: retry_after``;
- ``drop``: close the connection without an answer;
- ``slow``: wait ``delay`` seconds, then forward;
- ``flip``: forward, with one byte of a 200 body flipped (same length);
- ``truncate``: forward a 200 answer with its full ``Content-Length`` but half its body, then
  close the connection;
- ``paginate``: answer an empty page of tags, repositories or referrers with a new
  ``Link: <...>; rel="next"`` each time, forever (the client must stop on its own).

Bounded: every connection times out after ``IDLE`` seconds without a request, every upstream
request after ``UPSTREAM_TIMEOUT``, delays are what the test asks for, and leaving the ``with``
block stops the server and its threads.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

IDLE = 10.0
UPSTREAM_TIMEOUT = 30.0
KINDS = ("status", "throttle", "drop", "slow", "flip", "truncate", "paginate")
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "content-length"}
)
_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass
class Fault:
    kind: str
    path: re.Pattern[str]
    count: int | None = 1
    method: str | None = None
    status: int = 503
    retry_after: int = 1
    delay: float = 0.0
    hits: int = 0

    def takes(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.count is not None and self.hits >= self.count:
            return False
        return bool(self.path.search(path))


class FaultProxy:
    """A threaded HTTP server on 127.0.0.1 forwarding to ``upstream`` (``HOST:PORT``)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        #: (method, path, fault kind or "") of every request, in order.
        self.log: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._pages = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- the test's side ---------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def inject(
        self,
        kind: str,
        path: str,
        *,
        count: int | None = 1,
        method: str | None = None,
        status: int = 503,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {KINDS}")
        fault = Fault(kind, re.compile(path), count, method, status, retry_after, delay)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def injected(self, kind: str | None = None) -> int:
        """How many requests got a fault (of ``kind``)."""
        with self._lock:
            return sum(1 for _, _, k in self.log if k and (kind is None or k == kind))

    def requests(self, pattern: str = "") -> int:
        """How many requests (whose path matches ``pattern``) reached the proxy."""
        regex = re.compile(pattern)
        with self._lock:
            return sum(1 for _, path, _ in self.log if regex.search(path))

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- the server's side -------------------------------------------------------------------
    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            fault = next((f for f in self.faults if f.takes(method, path)), None)
            if fault is not None:
                fault.hits += 1
            self.log.append((method, path, fault.kind if fault else ""))
            return fault

    def _empty_page(self, path: str) -> tuple[bytes, str, str]:
        """An empty page for ``path`` and the link to a next one (never the same twice)."""
        page = next(self._pages)
        base = urlsplit(path).path
        if "/referrers/" in base:
            body = {"schemaVersion": 2, "mediaType": _INDEX, "manifests": []}
            return json.dumps(body).encode(), _INDEX, f"{base}?page={page}"
        key = "repositories" if base.endswith("/_catalog") else "tags"
        body = {key: []} if key == "repositories" else {"name": base.split("/")[2], key: []}
        return json.dumps(body).encode(), "application/json", f"{base}?n=100&last=p{page}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._take(self.command, self.path)
                kind = fault.kind if fault else ""
                if fault is not None and kind == "drop":
                    self.close_connection = True
                    return
                if fault is not None and kind in ("status", "throttle"):
                    status = 429 if kind == "throttle" else fault.status
                    error = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
                    headers = {"Content-Type": "application/json"}
                    if kind == "throttle":
                        headers["Retry-After"] = str(fault.retry_after)
                    self._answer(status, error, headers)
                    return
                if fault is not None and kind == "paginate":
                    page, media_type, link = proxy._empty_page(self.path)
                    headers = {"Content-Type": media_type, "Link": f'<{link}>; rel="next"'}
                    self._answer(200, page, headers)
                    return
                if fault is not None and kind == "slow":
                    time.sleep(fault.delay)
                status, headers, data, head_length = self._forward(body)
                if fault is not None and status == 200 and data and self.command == "GET":
                    if kind == "flip":
                        damaged = bytearray(data)
                        damaged[len(damaged) // 2] ^= 0x01
                        data = bytes(damaged)
                    elif kind == "truncate":
                        self.send_response(status)
                        for name, value in headers.items():
                            self.send_header(name, value)
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", head_length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _forward(self, body: bytes | None) -> tuple[int, dict[str, str], bytes, str]:
                """The upstream's status, headers, body and (for HEAD) Content-Length."""
                conn = http.client.HTTPConnection(proxy.upstream, timeout=UPSTREAM_TIMEOUT)
                try:
                    sent = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    conn.request(self.command, self.path, body=body, headers=sent)
                    resp = conn.getresponse()
                    data = resp.read()
                    headers = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}
                    length = resp.getheader("Content-Length") or ""
                    return resp.status, headers, data, length if self.command == "HEAD" else ""
                finally:
                    conn.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        return Handler
