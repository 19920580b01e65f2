"""Every repository of a registry (``/v2/_catalog``, paginated) as one source.

Each repository is crawled as a :class:`~attestlake.crawl.sources.store.StoreSource`. A repository
that cannot be listed (access refused, deleted meanwhile) is reported as a warning and the
crawl goes on with the others.
"""

from __future__ import annotations

from collections.abc import Iterator

from attestlake.crawl.sources.interface import MAX_DOCUMENT_SIZE, Candidate, Source
from attestlake.crawl.sources.store import StoreSource
from attestlake.errors import StoreError
from attestlake.store.registry import RegistryStore

#: A repository name used only to reach the registry-wide endpoints.
_ANY_REPOSITORY = "attestlake-catalog"


class CatalogSource(Source):
    fetch_concurrency = 8

    def __init__(
        self,
        base_url: str,
        *,
        prefix: str = "",
        username: str | None = None,
        password: str | None = None,
        max_document_size: int = MAX_DOCUMENT_SIZE,
    ) -> None:
        self.registry = RegistryStore(
            base_url, _ANY_REPOSITORY, username=username, password=password
        )
        self.prefix = prefix
        self.ref = f"{self.registry.base_url}/{prefix}*"
        self.max_document_size = max_document_size
        self._warnings: list[str] = []
        self._listed = 0

    def warnings(self) -> list[str]:
        return [*self.registry.warnings(), *self._warnings]

    def close(self) -> None:
        self.registry.close()

    def why_empty(self) -> str:
        if self._listed:
            listed = f"{self._listed} repositor{'y' if self._listed == 1 else 'ies'} listed"
            return f"{listed}, none with a tag"
        under = f" under {self.prefix}" if self.prefix else ""
        return f"the registry lists no repositories{under}"

    def repositories(self) -> Iterator[str]:
        for name in self.registry.catalog():
            if name.startswith(self.prefix):
                self._listed += 1
                yield name

    def candidates(self) -> Iterator[Candidate]:
        for name in self.repositories():
            try:
                store = self.registry.repository_store(name)
            except StoreError:  # a name no repository can have
                self._warnings.append(
                    f"catalog of {self.registry.base_url}/: skipped a name that is not a valid "
                    f"repository name: {name[:64]!r}"
                )
                continue
            source = StoreSource(store, max_document_size=self.max_document_size)
            try:
                yield from source.candidates()
            except StoreError as exc:
                self._warnings.append(f"{source.ref}: skipped: {exc}")
            self._warnings.extend(source.warnings())
