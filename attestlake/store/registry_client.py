"""The HTTP client of one repository in an OCI distribution registry (via ``requests``).

What every request to the registry goes through, below the store's operations: Basic auth and
the Bearer token challenge, whose password or token never appears in a message or repr;
transient failures (connection errors, 429, 502, 503, 504) retried with backoff (a 429's
``Retry-After`` is honoured up to a few seconds); a registry's refusal turned into a
:class:`~attestlake.errors.StoreError` that says what to fix; and bounded GETs checked against
their digest, fetched again while they arrive damaged or cut short, else
:class:`~attestlake.errors.TransportError`. Each thread has its own session (its connection is
kept alive between its requests), and :class:`~attestlake.store.adaptive_limit.AdaptiveLimit`
paces how many requests are in flight at once.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import NotFound, StoreError, TransportError
from attestlake.redaction import redact, without
from attestlake.store._http import (
    Auth,
    deadline_adapter,
    drain,
    origin,
    read_bounded,
    reason,
    registry_errors,
)
from attestlake.store.adaptive_limit import AdaptiveLimit
from attestlake.store.oci import MAX_BLOB_SIZE, check_digest, sha256_digest

_TRANSIENT = frozenset({429, 502, 503, 504})
#: A HEAD of a blob is also asked again after a 500: docker-registry answers 500 while another
#: client is still uploading that blob (two CI jobs pushing the same layer).
BLOB_HEAD_TRANSIENT = _TRANSIENT | {500}
_OVERLOADED = frozenset({429, 503})  # the registry asks for fewer requests at once
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"  # OCI distribution spec
_REPO_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')
_ENV_HINT = "ATTESTLAKE_REGISTRY_USERNAME and ATTESTLAKE_REGISTRY_PASSWORD"
_MAX_RETRY_AFTER = 5.0  # seconds: a longer Retry-After is cut to this


def _backoff(attempt: int, retry_after: float = 0.0) -> float:
    """Seconds to wait before ``attempt`` (1 for the first retry)."""
    return max(min(0.2 * 2.0 ** (attempt - 1), 2.0), min(retry_after, _MAX_RETRY_AFTER))


def _retry_after(resp: requests.Response) -> float:
    value = resp.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() and len(value) < 6 else 0.0


class RegistryClient:
    """Requests to the repository ``repository`` of the registry at ``base_url``, with its
    credentials, timeouts, retries and bound on blobs. Safe to use from several threads at
    once (each has its own session), at most :attr:`pace` requests in flight."""

    #: Threads a crawler runs against this registry: the most requests :attr:`pace` lets
    #: through at once.
    fetch_concurrency = 16

    def __init__(
        self,
        base_url: str,
        repository: str,
        *,
        username: str | None = None,
        password: str | None = None,
        max_blob_size: int = MAX_BLOB_SIZE,
        timeout: float = 30.0,
        retries: int = 3,
        deadline: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            raise StoreError(f"registry URL must start with http:// or https://: {base_url!r}")
        if len(repository) > 255 or not _REPO_RE.match(repository):
            raise StoreError(f"not a valid repository name: {repository!r}")
        self.repository = repository
        self.ref = f"{self.base_url}/{repository}"
        self.username = username
        self.max_blob_size = max_blob_size
        self.timeout = timeout
        #: Seconds one answer may take to arrive whole (default: ten read timeouts).
        self.deadline = 10 * timeout if deadline is None else deadline
        self.retries = max(0, retries)
        self._password = password or None
        creds = (username, password) if username and password else None
        self._auth = Auth(origin(self.base_url), creds)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        #: How many requests are in flight at once: adapted to how the registry answers.
        self.pace = AdaptiveLimit(start=4, ceiling=self.fetch_concurrency)
        self._warnings: list[str] = []  # faults of the registry read past (listings stopped short)

    @property
    def _session(self) -> requests.Session:
        """This thread's HTTP session: its connections are kept alive from one request to the
        next, and no other thread uses them."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self._auth
            for scheme in ("http://", "https://"):
                session.mount(scheme, deadline_adapter(self.deadline))
            session.headers["User-Agent"] = "attestlake"
            with self._sessions_lock:
                self._sessions.append(session)
            self._local.session = session
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    # -- HTTP plumbing --------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        """``text`` without the password or token however spelled, or any credential."""
        return redact(without(text, (self._password, self._auth.token)))

    def _error(self, message: str, cls: type[StoreError] = StoreError) -> StoreError:
        return cls(self._scrub(message))

    def _send(
        self, method: str, url: str, *, transient: frozenset[int] = _TRANSIENT, **kwargs: Any
    ) -> requests.Response:
        """One request, retried on connection failures and ``transient`` statuses. The body is
        never read here: whoever reads it bounds its size and the time it takes."""
        kwargs["stream"] = True
        failure, wait = "", 0.0
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(_backoff(attempt, wait))
            started = time.monotonic()
            try:
                with self.pace.slot():
                    resp = self._session.request(method, url, timeout=self.timeout, **kwargs)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                failure, wait = reason(exc, self.timeout), 0.0
                if time.monotonic() - started >= self.deadline:  # stalled: not asked again
                    failure = f"no complete answer within {self.deadline:g}s"
                    break
                continue
            except requests.RequestException as exc:
                raise self._error(f"request to registry {self.base_url}/ failed: {exc}") from None
            if resp.status_code in _OVERLOADED:
                self.pace.overloaded()
            elif resp.status_code not in transient:
                self.pace.answered(time.monotonic() - started)
            if resp.status_code not in transient or attempt == self.retries:
                return resp
            wait = _retry_after(resp) if resp.status_code == 429 else 0.0
            resp.close()
        tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
        hint = (
            "a stalled or hostile registry; try again later"
            if failure.startswith("no complete answer")
            else "is it running, and are the host, port and scheme (http/https) right?"
        )
        raise self._error(f"cannot reach registry {self.base_url}/ ({failure}, {tries}): {hint}")

    def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        ok: tuple[int, ...] = (200,),
        transient: frozenset[int] = _TRANSIENT,
        **kwargs: Any,
    ) -> requests.Response:
        """The answer to a request, once its status is one of ``ok`` (else StoreError); its
        body is drained unless ``stream`` asks to read it. ``transient`` statuses are asked
        again."""
        stream = kwargs.pop("stream", False)
        if not url.startswith(("http://", "https://")):
            url = f"{self.base_url}/v2/{self.repository}/{url}"
        resp = self._send(method, url, transient=transient, **kwargs)
        challenge = resp.headers.get("WWW-Authenticate", "")
        if resp.status_code == 401 and challenge.lower().startswith("bearer "):
            resp.close()
            self._fetch_token(dict(_CHALLENGE_RE.findall(challenge)))
            resp = self._send(method, url, transient=transient, **kwargs)
        if resp.status_code in ok:
            if not stream:
                drain(resp, 65536, self.deadline)
            return resp
        with resp:
            raise self._fail(resp, what, transient=transient)

    def _fetch_token(self, challenge: dict[str, str]) -> None:
        realm = challenge.get("realm", "")
        if not realm.startswith(("http://", "https://")):
            raise self._error(f"registry {self.base_url}/ sent a Bearer challenge without realm")
        if self.base_url.startswith("https://") and not realm.startswith("https://"):
            raise self._error(
                f"registry {self.base_url}/ sent a Bearer challenge naming the token server "
                f"{realm.split('?')[0]} over plain HTTP: refused, credentials and tokens are "
                "never sent unencrypted to a registry reached over HTTPS"
            )
        scopes = [f"repository:{self.repository}:pull,push"]
        if challenge.get("scope") and challenge["scope"] not in scopes:
            scopes.append(challenge["scope"])
        params = {"service": challenge.get("service", ""), "scope": scopes}
        resp = self._send("GET", realm, params=params, auth=Auth(None, self._auth.basic))
        with resp:
            if resp.status_code != 200:
                raise self._fail(resp, "a token", server=f"token server {realm}")
            try:
                raw = read_bounded(resp, 1024 * 1024, "token response", self.deadline)
                body = loads(raw, max_bytes=1024 * 1024, max_depth=8, what="token response")
                token = body.get("token") or body.get("access_token")
            except (MalformedJSON, AttributeError):
                token = None
        if not isinstance(token, str) or not token:
            raise self._error(f"token server {realm} returned no token")
        self._auth.token = token

    def _fail(
        self,
        resp: requests.Response,
        what: str,
        server: str | None = None,
        transient: frozenset[int] = _TRANSIENT,
    ) -> StoreError:
        status, errors = resp.status_code, registry_errors(resp, self.deadline)
        codes = {e.get("code") for e in errors}
        # Scrubbed before being cut short: a credential cut in two is no longer recognised.
        detail = "; ".join(
            self._scrub(f"{e.get('code')}: {e.get('message')}")
            + (f" ({self._scrub(json.dumps(e['detail']))[:120]})" if e.get("detail") else "")
            for e in errors
        )[:400]
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            given = f"as user {self.username!r}" if self._auth.basic else "without credentials"
            server = server or f"registry {self.base_url}/"
            return self._error(
                f"{server} refused access to {what} {given} (HTTP {status}): the credentials "
                f"are missing or wrong; set {_ENV_HINT}{suffix}"
            )
        if "MANIFEST_BLOB_UNKNOWN" in codes:
            blobs = [
                str(e.get("detail")) for e in errors if e.get("code") == "MANIFEST_BLOB_UNKNOWN"
            ]
            return self._error(
                f"registry {self.ref} refused {what}: it names blobs that are not in the "
                f"repository ({', '.join(blobs)}); push every blob before the manifest"
            )
        if status == 404:
            return self._error(f"{what} not found in {self.ref}{suffix}", NotFound)
        again = f" (after {self.retries + 1} attempts)" if status in transient else ""
        return self._error(f"registry {self.ref} answered HTTP {status} to {what}{again}{suffix}")

    def _fetch(
        self,
        path: str,
        *,
        what: str,
        limit: int,
        digest: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[bytes, str | None]:
        """The body of a GET, bounded by ``limit`` and checked against ``digest`` (else against
        the ``Docker-Content-Digest`` the registry states, if any), fetched again while it
        arrives damaged or cut short. Returns the bytes and the digest they matched."""
        failure = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(_backoff(attempt))
            started = time.monotonic()
            with self._request("GET", path, what=what, stream=True, headers=headers) as resp:
                try:
                    raw = read_bounded(resp, limit, what, self.deadline)
                except TransportError as exc:
                    if time.monotonic() - started >= self.deadline:  # stalled: not asked again
                        raise self._error(str(exc), TransportError) from None
                    failure = str(exc)
                    continue
                expected = digest or resp.headers.get("Docker-Content-Digest")
            if expected is None:
                return raw, None
            actual = sha256_digest(raw)
            if actual == check_digest(expected):
                return raw, expected
            failure = f"digest mismatch: expected {expected}, got {actual}"
        tries = f"{self.retries + 1} attempt{'s' if self.retries else ''}"
        raise self._error(
            f"{what} from registry {self.ref} did not arrive intact in {tries} ({failure}): "
            "a network fault or a damaged registry; try again later",
            TransportError,
        )
