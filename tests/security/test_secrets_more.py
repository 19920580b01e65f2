"""More secrets that must never be printed: a registry whose error answers echo the
credentials it was sent (the Basic ``Authorization`` header, the password decoded, escaped or
percent-encoded, the Bearer token its token server issued).

The registry here is hostile on purpose: a real HTTP server on 127.0.0.1 that answers every
request as the test says. Every byte the CLI prints (errors, ``--verbose`` tracebacks, crawl
summaries and warnings, ``--json``) is searched for every spelling of the secret. The commands
run in this process with standard output and error captured down to file descriptors 1 and 2
(tests/integration/test_in_process_cli.py); an exception that escapes the command fails the
test instead of being printed.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration.cli_helpers import run_cli
from tests.lakefactory import build_lake

USER = "ci-bot"
PASSWORD = 'hunter2"\\SECRETpw-0123456789'
TOKEN = "tok.SECRETbearer.0123456789abcdef"
MARKERS = ("SECRETpw", "SECRETbearer")


def _spellings() -> list[str]:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return [
        *MARKERS,
        PASSWORD,
        basic,
        basic[:16],
        json.dumps(PASSWORD)[1:-1],
        quote(PASSWORD, safe=""),
        TOKEN,
    ]


class EchoingRegistry:
    """A registry that answers every request with ``status`` and an error body quoting the
    request's ``Authorization`` header, decoded and re-encoded. With ``bearer``, requests
    without a token are sent to its token server first (which issues :data:`TOKEN`). With
    ``tags``, the tag listing works and names them (so a crawl gets as far as a manifest)."""

    def __init__(self, status: int, *, bearer: bool = False, tags: bool = False) -> None:
        self.status, self.bearer, self.tags = status, bearer, tags
        self.seen: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> EchoingRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
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
                auth = self.headers.get("Authorization", "")
                registry.seen.append(auth)
                kind = "json"
                if registry.bearer and self.path.startswith("/token"):
                    self._answer(200, json.dumps({"token": TOKEN}).encode(), {})
                    return
                if registry.bearer and not auth.startswith("Bearer "):
                    realm = f'Bearer realm="http://{registry.host}/token",service="echo"'
                    self._answer(401, b"", {"WWW-Authenticate": realm})
                    return
                if registry.tags and "/tags/list" in self.path:
                    listing = {"name": "att", "tags": ["run-1"]}
                    self._answer(200, json.dumps(listing).encode(), {"Content-Type": kind})
                    return
                decoded = ""
                if auth.startswith("Basic "):
                    decoded = base64.b64decode(auth[6:]).decode("utf-8", "replace")
                password = decoded.partition(":")[2]
                # The password is the last thing in a long message: a message cut at a length
                # bound still carries its beginning.
                errors = [
                    {
                        "code": "DENIED",
                        "message": f"request with Authorization: {auth} denied",
                        "detail": {
                            "padding": "p" * 90,
                            "decoded": decoded,
                            "percent": quote(password, safe=""),
                        },
                    },
                    {"code": "UNAUTHORIZED", "message": f"{'x' * 300} {password}"},
                ]
                body = json.dumps({"errors": errors}).encode()
                self._answer(registry.status, body, {"Content-Type": "application/json"})

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        return Handler


ENV = {"ATTESTLAKE_REGISTRY_USERNAME": USER, "ATTESTLAKE_REGISTRY_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("trust"), contracts={}, runs=[]).policy_path


def _commands(host: str, tmp: Path, trust: Path) -> dict[str, list[str]]:
    return {
        "contract_list": ["contract", "list", "--from", f"{host}/secops"],
        "contract_list_verbose": ["--verbose", "contract", "list", "--from", f"{host}/secops"],
        "crawl": [
            "crawl",
            "--from",
            f"{host}/att",
            "--lake",
            str(tmp / "lake"),
            "--trust",
            str(trust),
        ],
        "crawl_json_verbose": [
            "--verbose",
            "crawl",
            "--from",
            f"{host}/att",
            "--lake",
            str(tmp / "lake2"),
            "--trust",
            str(trust),
            "--json",
        ],
    }


@pytest.fixture(
    params=[
        (403, False, False),
        (500, False, False),
        (500, True, False),
        (500, True, True),
        (500, False, True),
    ],
    ids=["refused", "server_error", "bearer", "bearer_manifest", "basic_manifest"],
)
def registry_echoing(request: pytest.FixtureRequest) -> Iterator[EchoingRegistry]:
    status, bearer, tags = request.param
    with EchoingRegistry(status, bearer=bearer, tags=tags) as server:
        yield server


@pytest.mark.attack("secret")
@pytest.mark.parametrize(
    "command", ["contract_list", "contract_list_verbose", "crawl", "crawl_json_verbose"]
)
def test_credentials_echoed_by_a_registry_are_never_printed(
    registry_echoing: EchoingRegistry, trust: Path, tmp_path: Path, command: str
) -> None:
    args = _commands(registry_echoing.host, tmp_path, trust)[command]
    r = run_cli(tmp_path, *args, env=ENV)
    assert any(registry_echoing.seen), "the registry was asked with credentials"
    printed = r.out + r.err
    for spelling in _spellings():
        assert spelling not in printed, (spelling, printed)
    assert r.code in (0, 1), printed
    assert "Traceback" not in printed or "--verbose" in args
    if not registry_echoing.tags:
        assert f"HTTP {registry_echoing.status}" in printed or "refused" in printed, printed
    for lake in ("lake", "lake2"):
        for path in (tmp_path / lake).rglob("*") if (tmp_path / lake).exists() else ():
            if path.is_file():
                assert not any(m.encode() in path.read_bytes() for m in MARKERS), path


@pytest.mark.attack("secret")
@pytest.mark.parametrize(
    "variable", ["ATTESTLAKE_REGISTRY_PASSWORD", "ATTESTLAKE_KEY_PASSWORD", "COSIGN_PASSWORD"]
)
def test_a_password_from_the_environment_is_redacted_however_spelled(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A recorded value or message that quotes the password (an annotation, an allow-listed
    variable, an error) never carries it, as is, JSON-escaped or percent-encoded."""
    from attestlake.errors import StoreError
    from attestlake.redaction import REDACTED, redact

    monkeypatch.setenv(variable, PASSWORD)
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for text in (
        f"note: {PASSWORD}",
        json.dumps({"value": PASSWORD}),
        f"https://example.com/?q={quote(PASSWORD, safe='')}",
        f"Authorization: Basic {basic}",
        f"authorization=bearer {TOKEN}",
    ):
        redacted = redact(text)
        assert REDACTED in redacted, redacted
        assert not any(s in redacted for s in _spellings()), redacted
        assert not any(s in StoreError(text).diagnostics() for s in _spellings())
    assert redact('Bearer realm="https://auth.example.com/token"') == (
        'Bearer realm="https://auth.example.com/token"'
    )
