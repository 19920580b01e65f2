"""A repository in an OCI distribution registry as a store (HTTP, via ``requests``).

Speaks the OCI distribution spec: blobs are uploaded with POST + PUT, manifests are PUT with
their exact bytes, everything read is bounded and verified against its digest. Basic auth and
the Bearer token challenge are supported; the password never appears in a message or repr.
Transient failures (connection errors, 429, 502, 503, 504) are retried with backoff (a 429's
``Retry-After`` is honoured up to a few seconds). A blob or manifest that arrives damaged (its
bytes do not match its digest, or the body is cut short) is fetched again the same way; if it
never arrives intact, :class:`~attestlake.errors.TransportError`: a fault on the way, not in
the content, so the crawler skips the unit and reads it again next time.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import ContentError, NotFound, StoreError, TransportError
from attestlake.redaction import redact, without
from attestlake.store._http import (
    Auth,
    deadline_adapter,
    drain,
    errors_from,
    origin,
    read_bounded,
    reason,
    registry_errors,
)
from attestlake.store.interface import Store
from attestlake.store.oci import (
    DOCKER_LIST_MEDIA_TYPE,
    DOCKER_MANIFEST_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    MAX_BLOB_SIZE,
    MAX_MANIFEST_SIZE,
    Descriptor,
    Index,
    Manifest,
    check_digest,
    check_tag,
    parse_any_manifest,
    sha256_digest,
)

_ACCEPT = f"{MANIFEST_MEDIA_TYPE}, {INDEX_MEDIA_TYPE}"
_ACCEPT_ANY = f"{_ACCEPT}, {DOCKER_MANIFEST_MEDIA_TYPE}, {DOCKER_LIST_MEDIA_TYPE}"
_TRANSIENT = frozenset({429, 502, 503, 504})
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"  # OCI distribution spec
_REPO_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')
_ENV_HINT = "ATTESTLAKE_REGISTRY_USERNAME and ATTESTLAKE_REGISTRY_PASSWORD"
_MAX_RETRY_AFTER = 5.0  # seconds: a longer Retry-After is cut to this
#: Bound on the pages of one listing (tags, repositories, referrers of one manifest).
MAX_PAGES = 10_000
#: Bound on the names of one listing (tags of a repository, repositories of a catalog,
#: referrers of one manifest).
MAX_NAMES = 1_000_000


def _backoff(attempt: int, retry_after: float = 0.0) -> float:
    """Seconds to wait before ``attempt`` (1 for the first retry)."""
    return max(min(0.2 * 2.0 ** (attempt - 1), 2.0), min(retry_after, _MAX_RETRY_AFTER))


def _retry_after(resp: requests.Response) -> float:
    value = resp.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() and len(value) < 6 else 0.0


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _refuse_page(visited: set[str], url: str, base_url: str) -> str | None:
    """Why a listing stops before the page at ``url`` (it was read before, it is on another
    host than the registry, whose credentials must never go there, or the listing is over
    :data:`MAX_PAGES` pages); None after adding ``url`` to ``visited``."""
    if _origin(url) != _origin(base_url):
        return "a page links to another host"
    if url in visited:
        return "a page links back to an earlier one"
    if len(visited) >= MAX_PAGES:
        return f"over {MAX_PAGES} pages"
    visited.add(url)
    return None


class RegistryStore(Store):
    #: Page size asked for when listing tags and repositories.
    page_size = 100
    #: Names one listing may hold; past them it stops with a warning.
    max_names = MAX_NAMES

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
        self._session = requests.Session()
        self._session.auth = self._auth
        for scheme in ("http://", "https://"):
            self._session.mount(scheme, deadline_adapter(self.deadline))
        self._session.headers["User-Agent"] = "attestlake"
        self._referrers_api: bool | None = None  # unknown until the first referrers call
        self._warnings: list[str] = []  # listings stopped short (see _paginate)

    def __repr__(self) -> str:
        return f"RegistryStore({self.ref!r}, username={self.username!r})"

    def close(self) -> None:
        self._session.close()

    def repository_store(self, repository: str) -> RegistryStore:
        """Another repository of the same registry, with the same credentials and bounds."""
        return RegistryStore(
            self.base_url,
            repository,
            username=self.username,
            password=self._password,
            max_blob_size=self.max_blob_size,
            timeout=self.timeout,
            retries=self.retries,
            deadline=self.deadline,
        )

    # -- HTTP plumbing --------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        """``text`` without the password or token however spelled, or any credential."""
        return redact(without(text, (self._password, self._auth.token)))

    def _error(self, message: str, cls: type[StoreError] = StoreError) -> StoreError:
        return cls(self._scrub(message))

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request, retried on connection failures and transient statuses. The body is
        never read here: whoever reads it bounds its size and the time it takes."""
        kwargs["stream"] = True
        failure, wait = "", 0.0
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(_backoff(attempt, wait))
            started = time.monotonic()
            try:
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
            if resp.status_code not in _TRANSIENT or attempt == self.retries:
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
        self, method: str, url: str, *, what: str, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        """The answer to a request, once its status is one of ``ok`` (else StoreError); its
        body is drained unless ``stream`` asks to read it."""
        stream = kwargs.pop("stream", False)
        if not url.startswith(("http://", "https://")):
            url = f"{self.base_url}/v2/{self.repository}/{url}"
        resp = self._send(method, url, **kwargs)
        challenge = resp.headers.get("WWW-Authenticate", "")
        if resp.status_code == 401 and challenge.lower().startswith("bearer "):
            resp.close()
            self._fetch_token(dict(_CHALLENGE_RE.findall(challenge)))
            resp = self._send(method, url, **kwargs)
        if resp.status_code in ok:
            if not stream:
                drain(resp, 65536, self.deadline)
            return resp
        with resp:
            raise self._fail(resp, what)

    def _fetch_token(self, challenge: dict[str, str]) -> None:
        realm = challenge.get("realm", "")
        if not realm.startswith(("http://", "https://")):
            raise self._error(f"registry {self.base_url}/ sent a Bearer challenge without realm")
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

    def _fail(self, resp: requests.Response, what: str, server: str | None = None) -> StoreError:
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
        again = f" (after {self.retries + 1} attempts)" if status in _TRANSIENT else ""
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

    def warnings(self) -> list[str]:
        return list(self._warnings)

    def _stop_paging(self, what: str, pages: int, why: str) -> None:
        self._warnings.append(
            f"{what} from {self.base_url}/: stopped after {pages} page{'s' if pages > 1 else ''}: "
            f"{why} (a faulty or hostile registry); what it listed before is read"
        )

    def _paginate(self, url: str, key: str, what: str) -> Iterator[str]:
        names: set[str] = set()
        visited: set[str] = set()
        next_url: str | None = f"{url}?n={self.page_size}"
        while next_url:
            refused = _refuse_page(visited, next_url, self.base_url)
            if refused:
                self._stop_paging(what, len(visited), refused)
                return
            resp = self._request("GET", next_url, what=what, ok=(200, 404), stream=True)
            with resp:
                raw = read_bounded(resp, MAX_MANIFEST_SIZE, what, self.deadline)
                if resp.status_code == 404:
                    if "NAME_UNKNOWN" in {e.get("code") for e in errors_from(raw)}:
                        return
                    raise self._error(f"{what} not found at {self.base_url}/", NotFound)
                link = resp.links.get("next", {}).get("url")
            try:
                body = loads(raw, max_bytes=MAX_MANIFEST_SIZE, max_depth=8, what=what)
            except MalformedJSON as exc:
                raise ContentError(f"{exc} (from {self.base_url}/)") from None
            items = (body.get(key) if isinstance(body, dict) else None) or []
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ContentError(f"{what} from {self.base_url}/ has no list of names")
            new = [name for name in dict.fromkeys(items) if name not in names]
            if len(names) + len(new) > self.max_names:
                yield from new[: self.max_names - len(names)]
                self._stop_paging(what, len(visited), f"over {self.max_names} names")
                return
            names.update(new)
            yield from new
            if link and not new:
                self._stop_paging(what, len(visited), "a page lists nothing new but links on")
                return
            next_url = urljoin(resp.url, link) if link else None

    # -- Store ----------------------------------------------------------------------------
    def has_blob(self, digest: str) -> bool:
        url = f"blobs/{check_digest(digest)}"
        with self._request("HEAD", url, what=f"blob {digest}", ok=(200, 404)) as resp:
            return resp.status_code == 200

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        desc = Descriptor.for_bytes(media_type, data)
        if self.has_blob(desc.digest):
            return desc
        what = f"upload of blob {desc.digest}"
        with self._request("POST", "blobs/uploads/", what=what, ok=(202,)) as resp:
            location = resp.headers.get("Location")
            if not location:
                raise self._error(f"registry {self.ref} started an upload without a Location")
            parts = urlsplit(urljoin(resp.url, location))
        query = urlencode([*parse_qsl(parts.query), ("digest", desc.digest)])
        url = urlunsplit(parts._replace(query=query))
        headers = {"Content-Type": "application/octet-stream"}
        self._request("PUT", url, what=what, ok=(201, 204), data=data, headers=headers).close()
        return desc

    def get_blob(self, digest: str, *, max_size: int | None = None) -> bytes:
        limit = self.max_blob_size if max_size is None else max_size
        what = f"blob {check_digest(digest)}"
        return self._fetch(f"blobs/{digest}", what=what, limit=limit, digest=digest)[0]

    def put_manifest(self, manifest: Manifest, tag: str | None = None) -> Descriptor:
        reference = check_tag(tag) if tag is not None else manifest.digest
        what = f"manifest {manifest.digest}" + (f" (tag {tag!r})" if tag else "")
        headers = {"Content-Type": MANIFEST_MEDIA_TYPE}
        with self._request(
            "PUT",
            f"manifests/{reference}",
            what=what,
            ok=(201,),
            data=manifest.raw,
            headers=headers,
        ) as resp:
            stored = resp.headers.get("Docker-Content-Digest")
        if stored is not None and stored != manifest.digest:
            raise ContentError(
                f"registry {self.ref} stored {what} under digest {stored}: it changed the bytes"
            )
        if stored is None and tag is not None:
            url = f"manifests/{manifest.digest}"
            with self._request("HEAD", url, what=what, ok=(200, 404)) as head:
                missing = head.status_code == 404
            if missing:
                self.put_manifest(manifest)
        return manifest.descriptor()

    def get_manifest(self, reference: str) -> Manifest:
        is_digest = reference.startswith("sha256:")
        ref = check_digest(reference) if is_digest else check_tag(reference)
        what = f"manifest {ref}"
        raw, digest = self._fetch(
            f"manifests/{ref}",
            what=what,
            limit=MAX_MANIFEST_SIZE,
            digest=ref if is_digest else None,
            headers={"Accept": _ACCEPT},
        )
        return Manifest.parse(raw, digest)

    def tags(self) -> Iterator[str]:
        url = f"{self.base_url}/v2/{self.repository}/tags/list"
        what = f"tag list of {self.repository}"
        for tag in self._paginate(url, "tags", what):
            try:
                yield check_tag(tag)
            except ContentError:  # no manifest can be asked for by that name
                self._warnings.append(
                    f"{what} from {self.base_url}/: skipped a name that is not a valid OCI tag: "
                    f"{tag[:64]!r}"
                )

    def resolve(self, tag: str) -> str:
        what, headers = f"tag {check_tag(tag)!r}", {"Accept": _ACCEPT}
        with self._request("HEAD", f"manifests/{tag}", what=what, headers=headers) as resp:
            digest = resp.headers.get("Docker-Content-Digest")
        if digest:
            return check_digest(digest)
        with self._request("GET", f"manifests/{tag}", what=what, stream=True, headers=headers) as r:
            return sha256_digest(read_bounded(r, MAX_MANIFEST_SIZE, what, self.deadline))

    def get_any_manifest(self, reference: str) -> Manifest | Index | None:
        is_digest = reference.startswith("sha256:")
        ref = check_digest(reference) if is_digest else check_tag(reference)
        raw, digest = self._fetch(
            f"manifests/{ref}",
            what=f"manifest {ref}",
            limit=MAX_MANIFEST_SIZE,
            digest=ref if is_digest else None,
            headers={"Accept": _ACCEPT_ANY},
        )
        return parse_any_manifest(raw, digest or sha256_digest(raw))

    def referrers(self, digest: str) -> list[Descriptor]:
        """Referrers of ``digest``: the referrers API where the registry has it (every page),
        else the ``sha256-<hex>`` tag schema (as cosign and oras push them)."""
        if self._referrers_api is not False:
            found = self._referrers_from_api(check_digest(digest))
            if found is not None:
                return found
        return super().referrers(digest)

    def has_referrers_api(self) -> bool:
        if self._referrers_api is None:
            self._referrers_from_api(referrers_tag_probe())
        return bool(self._referrers_api)

    def _referrers_from_api(self, digest: str) -> list[Descriptor] | None:
        url: str | None = f"{self.base_url}/v2/{self.repository}/referrers/{digest}"
        headers = {"Accept": INDEX_MEDIA_TYPE}
        out: list[Descriptor] = []
        listed: set[str] = set()
        visited: set[str] = set()
        what = f"referrers of {digest}"
        while url:
            refused = _refuse_page(visited, url, self.base_url)
            if refused:
                self._stop_paging(what, len(visited), refused)
                return out
            resp = self._request(
                "GET", url, what=what, ok=(200, 400, 404, 405), headers=headers, stream=True
            )
            with resp:
                if resp.status_code != 200:
                    if self._referrers_api:  # the API exists: this subject has no referrers
                        return out
                    self._referrers_api = False
                    return None
                raw = read_bounded(resp, MAX_MANIFEST_SIZE, what, self.deadline)
                link = resp.links.get("next", {}).get("url")
            self._referrers_api = True
            new = [d for d in Index.parse(raw).manifests if d.digest not in listed]
            if len(out) + len(new) > self.max_names:
                out.extend(new[: self.max_names - len(out)])
                self._stop_paging(what, len(visited), f"over {self.max_names} names")
                return out
            listed.update(d.digest for d in new)
            out.extend(new)
            if link and not new:
                self._stop_paging(what, len(visited), "a page lists nothing new but links on")
                return out
            url = urljoin(resp.url, link) if link else None
        return out

    # -- attaching referrers and resolving images (attestlake.store.referrers, attestlake.store.images) --
    def head_manifest(self, reference: str) -> Descriptor:
        """The descriptor (media type, digest, size) of the manifest a tag or digest names, of
        any OCI or Docker kind, from one HEAD request; NotFound if there is none."""
        is_digest = reference.startswith("sha256:")
        ref = check_digest(reference) if is_digest else check_tag(reference)
        what, headers = f"manifest {ref}", {"Accept": _ACCEPT_ANY}
        with self._request("HEAD", f"manifests/{ref}", what=what, headers=headers) as resp:
            stated = resp.headers.get("Docker-Content-Digest") or (ref if is_digest else "")
            media_type = resp.headers.get("Content-Type", MANIFEST_MEDIA_TYPE).split(";")[0]
            size = resp.headers.get("Content-Length", "")
        if is_digest and stated != ref:
            raise self._error(f"registry {self.ref} answered digest {stated} for {what}")
        if not size.isdigit():
            raise self._error(f"registry {self.ref} gave no size for {what}")
        digest = stated or self.resolve(ref)
        return Descriptor(media_type.strip(), check_digest(digest), int(size))

    def put_referrer(self, manifest: Manifest) -> bool:
        """Push a manifest that names a ``subject``, by digest. True if the registry indexed it
        for the referrers API (it answered ``OCI-Subject``): then no referrers tag is needed."""
        what = f"referrer {manifest.digest}"
        headers = {"Content-Type": MANIFEST_MEDIA_TYPE}
        url = f"manifests/{manifest.digest}"
        with self._request(
            "PUT", url, what=what, ok=(201,), data=manifest.raw, headers=headers
        ) as resp:
            return bool(resp.headers.get("OCI-Subject"))

    def put_index(self, raw: bytes, tag: str) -> str:
        """Store an OCI image index's exact bytes under ``tag``; return its digest."""
        Index.parse(raw)  # never push what this store would refuse to read back
        what = f"index {check_tag(tag)!r}"
        headers = {"Content-Type": INDEX_MEDIA_TYPE}
        self._request(
            "PUT", f"manifests/{tag}", what=what, ok=(201,), data=raw, headers=headers
        ).close()
        return sha256_digest(raw)

    def catalog(self) -> Iterator[str]:
        """Every repository the registry lists (``/v2/_catalog``)."""
        yield from self._paginate(f"{self.base_url}/v2/_catalog", "repositories", "catalog")


def referrers_tag_probe() -> str:
    """A digest that names nothing: asking for its referrers tells if the API exists."""
    return "sha256:" + "0" * 64
