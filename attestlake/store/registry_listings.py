"""Listings of an OCI registry, read page by page: tags, the catalog, referrers.

A registry pages a long listing with ``Link: <url>; rel="next"`` headers. :func:`paginate`
follows them on the registry's own host only (its credentials must never go elsewhere), reads
each page once, and stops a listing over :data:`MAX_PAGES` pages or ``max_names`` names, or one
whose page lists nothing new but links on: a faulty or hostile registry cannot keep a crawler
listing for ever. What was listed before the stop is kept, and the stop is a warning of the
store. :class:`RegistryListings` reads the tag list, the catalog and the referrers API so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.errors import ContentError, NotFound
from attestlake.store._http import errors_from, read_bounded
from attestlake.store.oci import INDEX_MEDIA_TYPE, MAX_MANIFEST_SIZE, Descriptor, Index
from attestlake.store.registry_client import RegistryClient

T = TypeVar("T")

#: Bound on the pages of one listing (tags, repositories, referrers of one manifest).
MAX_PAGES = 10_000
#: Bound on the names of one listing (tags of a repository, repositories of a catalog,
#: referrers of one manifest).
MAX_NAMES = 1_000_000


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


def paginate(
    first_url: str,
    *,
    get_page: Callable[[str], requests.Response],
    read_page: Callable[[requests.Response], list[T] | None],
    key: Callable[[T], str],
    max_names: int,
    stopped: Callable[[int, str], None],
) -> Iterator[T]:
    """The items of the listing that starts at ``first_url``, page after page.

    ``get_page`` answers the GET of one page (body unread); ``read_page`` reads its items, or
    None to end the listing there; an item whose ``key`` an earlier page listed is dropped.
    ``stopped(pages, why)`` hears why a listing ended before its last page.
    """
    seen: set[str] = set()
    visited: set[str] = set()
    count = 0
    url: str | None = first_url
    while url:
        refused = _refuse_page(visited, url, first_url)
        if refused:
            stopped(len(visited), refused)
            return
        with get_page(url) as resp:
            items = read_page(resp)
            link = resp.links.get("next", {}).get("url")
        if items is None:
            return
        new = [item for item in items if key(item) not in seen]
        if count + len(new) > max_names:
            yield from new[: max_names - count]
            stopped(len(visited), f"over {max_names} names")
            return
        seen.update(key(item) for item in new)
        count += len(new)
        yield from new
        if link and not new:
            stopped(len(visited), "a page lists nothing new but links on")
            return
        url = urljoin(resp.url, link) if link else None


class RegistryListings(RegistryClient):
    """The listings of a registry repository (its tags, the registry's catalog, the referrers
    API), each bounded by :func:`paginate`, with the warnings of those it cut short."""

    #: Page size asked for when listing tags and repositories.
    page_size = 100
    #: Names one listing may hold; past them it stops with a warning.
    max_names = MAX_NAMES
    #: Whether the registry answers the referrers API: unknown until the first referrers call.
    _referrers_api: bool | None = None
    #: Whether a listing was answered NAME_UNKNOWN: the registry knows no such repository.
    name_unknown = False

    def warnings(self) -> list[str]:
        return list(self._warnings)

    def _stop_paging(self, what: str, pages: int, why: str) -> None:
        self._warnings.append(
            f"{what} from {self.base_url}/: stopped after {pages} page{'s' if pages > 1 else ''}: "
            f"{why} (a faulty or hostile registry); what it listed before is read"
        )

    def _list_names(self, url: str, key: str, what: str) -> Iterator[str]:
        """The names a listing holds under ``key`` (tags, repositories), every page of it."""

        def get_page(page_url: str) -> requests.Response:
            return self._request("GET", page_url, what=what, ok=(200, 404), stream=True)

        yield from paginate(
            f"{url}?n={self.page_size}",
            get_page=get_page,
            read_page=functools.partial(self._read_names, key=key, what=what),
            key=str,
            max_names=self.max_names,
            stopped=functools.partial(self._stop_paging, what),
        )

    def _read_names(self, resp: requests.Response, *, key: str, what: str) -> list[str] | None:
        """The names one page of a listing holds under ``key``, each once; None when the
        registry knows no such repository (so it has none)."""
        raw = read_bounded(resp, MAX_MANIFEST_SIZE, what, self.deadline)
        if resp.status_code == 404:
            if "NAME_UNKNOWN" in {e.get("code") for e in errors_from(raw)}:
                self.name_unknown = True
                return None
            raise self._error(f"{what} not found at {self.base_url}/", NotFound)
        try:
            body = loads(raw, max_bytes=MAX_MANIFEST_SIZE, max_depth=8, what=what)
        except MalformedJSON as exc:
            raise ContentError(f"{exc} (from {self.base_url}/)") from None
        items = (body.get(key) if isinstance(body, dict) else None) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ContentError(f"{what} from {self.base_url}/ has no list of names")
        return list(dict.fromkeys(items))

    def _referrers_from_api(self, digest: str) -> list[Descriptor] | None:
        """Every page of the referrers API's answer for ``digest``; None if the registry has
        no referrers API (it answered the first request with 400, 404 or 405)."""
        what = f"referrers of {digest}"
        headers = {"Accept": INDEX_MEDIA_TYPE}

        def get_page(url: str) -> requests.Response:
            ok = (200, 400, 404, 405)
            return self._request("GET", url, what=what, ok=ok, headers=headers, stream=True)

        found = list(
            paginate(
                f"{self.base_url}/v2/{self.repository}/referrers/{digest}",
                get_page=get_page,
                read_page=functools.partial(self._read_referrers, what=what),
                key=lambda descriptor: descriptor.digest,
                max_names=self.max_names,
                stopped=functools.partial(self._stop_paging, what),
            )
        )
        return None if self._referrers_api is False else found

    def _read_referrers(self, resp: requests.Response, *, what: str) -> list[Descriptor] | None:
        """The descriptors one page of the referrers API lists; None when the answer is not
        200: the subject has no (more) referrers if the API exists, else the API is missing."""
        if resp.status_code != 200:
            if not self._referrers_api:
                self._referrers_api = False
            return None
        raw = read_bounded(resp, MAX_MANIFEST_SIZE, what, self.deadline)
        self._referrers_api = True
        return list(Index.parse(raw).manifests)
