"""Helpers for the collector's integration tests: an image in a real registry, a flaky proxy,
and reading everything a store holds."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from attestlake.store import Descriptor, Manifest
from attestlake.store.oci import MANIFEST_MEDIA_TYPE
from attestlake.store.registry import RegistryStore


def push_image(base_url: str, repository: str, tag: str, content: bytes = b"rootfs") -> str:
    """Push a minimal OCI image (config + one layer) and return its manifest digest."""
    store = RegistryStore(base_url, repository)
    try:
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
        cfg = store.put_blob(config, "application/vnd.oci.image.config.v1+json")
        layer = store.put_blob(content, "application/vnd.oci.image.layer.v1.tar")
        body = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": Descriptor(
                "application/vnd.oci.image.config.v1+json", cfg.digest, cfg.size
            ).to_json(),
            "layers": [
                Descriptor(
                    "application/vnd.oci.image.layer.v1.tar", layer.digest, layer.size
                ).to_json()
            ],
        }
        manifest = Manifest.parse(json.dumps(body).encode())
        store.put_manifest(manifest, tag=tag)
        return manifest.digest
    finally:
        store.close()


def decoded_payloads(data: bytes) -> list[bytes]:
    """The base64 payloads of a DSSE envelope or Sigstore bundle, decoded ([] otherwise)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(doc, dict):
        return []
    envelope = doc.get("dsseEnvelope") if "dsseEnvelope" in doc else doc
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    return [base64.b64decode(payload)] if isinstance(payload, str) else []


def all_bytes(root: Path) -> bytes:
    """Every file under ``root`` (a layout store, or a registry's storage directory), with
    every signed payload in it decoded, so a secret cannot hide in base64."""
    files = [p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()]
    return b"\n".join(files + [d for f in files for d in decoded_payloads(f)])


class FlakyProxy:
    """An HTTP proxy in front of a registry that answers ``status`` (503) to the first
    ``fail_first`` requests (or to every request while ``always_fail`` is set) that
    ``affects`` (default: every request), then forwards."""

    _HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})

    def __init__(
        self,
        upstream_host: str,
        fail_first: int = 0,
        *,
        status: int = 503,
        affects: Callable[[str, str], bool] = lambda method, path: True,
    ) -> None:
        self.upstream = upstream_host
        self.fail_first = fail_first
        self.status, self.affects = status, affects
        self.always_fail = False
        self.failed = 0
        self.forwarded = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    fail = proxy.affects(self.command, self.path) and (
                        proxy.always_fail or proxy.failed < proxy.fail_first
                    )
                    if fail:
                        proxy.failed += 1
                    else:
                        proxy.forwarded += 1
                if fail:
                    payload = b'{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}'
                    self.send_response(proxy.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy._HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in proxy._HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                length_header = resp.getheader("Content-Length")
                self.send_header(
                    "Content-Length",
                    length_header if self.command == "HEAD" and length_header else str(len(data)),
                )
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
