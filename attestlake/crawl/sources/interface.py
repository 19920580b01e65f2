"""The source interface: what the crawler reads attestations from.

A source yields :class:`Candidate` s lazily: a crawl unit's identity (its ``key``) before its
content, so that units already in the lake are never fetched again. ``Candidate.load()`` reads
the unit's documents (DSSE envelopes, Sigstore bundles, bare statements, SBOMs) and evidence;
content that cannot be read becomes a :class:`Document` with an ``error`` (recorded as
malformed), never an exception, except for transient failures (a registry that stops
answering), which raise :class:`~attestlake.errors.StoreError` so the unit is tried again by
the next crawl.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

T = TypeVar("T")

#: Default bound on one document or blob read by the crawler (``--max-blob-size``).
MAX_DOCUMENT_SIZE = 32 * 1024 * 1024


def batched(items: Iterable[T], n: int) -> Iterator[tuple[T, ...]]:
    """``items`` in tuples of ``n`` (the last one shorter), lazily."""
    it = iter(items)
    while chunk := tuple(itertools.islice(it, n)):
        yield chunk


@dataclass(frozen=True)
class Document:
    """One document of a unit: its sha256 and bytes, or why they could not be read."""

    digest: str
    raw: bytes | None
    error: str | None = None


@dataclass(frozen=True)
class Published:
    """A contract or inventory revision published to a store (:mod:`attestlake.contracts.publish`):
    unsigned, SecOps's declared state. ``raw`` is the exact file, or None with ``error``."""

    kind: str  # contract or inventory
    name: str
    revision: int
    digest: str  # sha256 of the file
    created: str  # org.opencontainers.image.created, as published
    raw: bytes | None
    error: str | None = None
    #: The signed declaration of the file (the manifest's second layer: a DSSE envelope or
    #: Sigstore bundle, :mod:`attestlake.contracts.declaration`), None when unsigned.
    declaration: bytes | None = None


@dataclass(frozen=True)
class Unit:
    """What one crawl unit holds (an OCI manifest, or one document of a file)."""

    key: str
    source: str
    documents: tuple[Document, ...] = ()
    #: Other blobs of the manifest (digest -> bytes) that statements may name: SBOM files.
    evidence: Mapping[str, bytes] = field(default_factory=dict)
    #: Why the unit itself could not be read (a manifest that is not one): one malformed row.
    error: str | None = None
    #: Set when the manifest is a published contract or inventory (then no documents).
    published: Published | None = None
    #: When the lake first saw the unit, for a unit read again from the lake's kept bytes
    #: (:mod:`attestlake.crawl.reverify`); None for a unit read from its source now.
    seen_at: datetime | None = None

    @property
    def size(self) -> int:
        return (
            sum(len(d.raw or b"") for d in self.documents)
            + sum(len(b) for b in self.evidence.values())
            + len(self.published.raw or b"" if self.published else b"")
            + len(self.published.declaration or b"" if self.published else b"")
        )


class UnitLoader(Protocol):
    """Reads a unit by its key and source anywhere, also in a worker process (it pickles)."""

    def __call__(self, key: str, source: str) -> Unit: ...

    def warm(self, key: str) -> bool:
        """Have the files of unit ``key`` read into the page cache ahead of reading it (a
        hint: never raises for what the source holds); True when they seem to be there
        already."""


@dataclass(frozen=True)
class Candidate:
    """A unit found by discovery: ``key`` (``sha256:<hex>``) identifies it in the lake.

    ``load`` reads it in this process; ``loader``, when the source has one, reads it in a
    worker process instead (``loader(key, source)``), so its bytes never pass through the
    crawler."""

    key: str
    source: str
    load: Callable[[], Unit]
    loader: UnitLoader | None = None


class Source(ABC):
    """Somewhere attestations are found: a store, a whole registry, files and folders."""

    #: How the source is named in summaries and in the lake's ``source`` column.
    ref: str
    #: How many candidates may be loaded at once (threads; >1 for network sources).
    fetch_concurrency: int = 1

    @abstractmethod
    def candidates(self) -> Iterator[Candidate]:
        """Every unit, lazily, in a stable order; a key may repeat (the crawler dedupes)."""

    def warnings(self) -> list[str]:
        """Problems met during discovery that did not stop it (a repository not readable)."""
        return []

    def why_empty(self) -> str:
        """Why :meth:`candidates` yielded nothing (asked only then): no such repository, ..."""
        return "nothing found"

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections."""


class WrappedSource(Source):
    """A source in front of another, ``source``: its name, concurrency, warnings, emptiness
    and closing are the other's; a subclass changes what :meth:`candidates` yields."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.ref = source.ref
        self.fetch_concurrency = source.fetch_concurrency

    def candidates(self) -> Iterator[Candidate]:
        return self.source.candidates()

    def warnings(self) -> list[str]:
        return self.source.warnings()

    def why_empty(self) -> str:
        return self.source.why_empty()

    def close(self) -> None:
        self.source.close()
