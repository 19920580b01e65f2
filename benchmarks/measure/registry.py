"""Target 5: the crawl's reads from an OCI registry against a minimal concurrent HTTP client.

A slice of the generated organisation (its published contracts and inventory, and its first
``runs`` runs) is pushed with attestlake's own registry store to a real ``docker-registry``
on 127.0.0.1, whose storage stays in ``DIR/registry`` for the next measurement. Then, in
turn:

- :func:`minimal_fetch`, the baseline: ``requests`` with one session per thread and a pool of
  :data:`THREADS` threads, reading the tag list (page by page, as the crawl does), each tag's
  manifest and the layers the crawl reads (signed statements and evidence), nothing checked;
- :func:`crawl_fetch`: the crawl's fetch phase, as :func:`attestlake.crawl.crawl.crawl` runs
  it: the source's candidates (listing), each loaded (manifest, documents, evidence: digests
  checked, bounds kept) by ``fetch_concurrency`` threads in groups of four per thread.

Both count the manifests and blobs they read, so that the two are seen to do the same work.
"""

from __future__ import annotations

import itertools
import json
import resource
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests

from attestlake.crawl.sources import Candidate, Unit, open_source
from attestlake.crawl.sources.store import EVIDENCE_MEDIA_TYPES, is_document_layer
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE
from attestlake.store.registry import RegistryStore
from attestlake.store.registry_listings import RegistryListings
from tests.integration.registry_server import RegistryServer

REPO = "bench/runs"
#: Threads of the baseline client (the crawl runs its store's ``fetch_concurrency``).
THREADS = 8
_ACCEPT = f"{MANIFEST_MEDIA_TYPE}, {INDEX_MEDIA_TYPE}"


@dataclass(frozen=True)
class Fetched:
    """What one pass read: manifests, blobs and their bytes."""

    manifests: int
    blobs: int
    bytes: int


@dataclass(frozen=True)
class Pass:
    """One timed pass: what it read, its manifests per second, this process's CPU per
    manifest."""

    read: Fetched
    rate: float
    cpu_ms: float


def timed(fetch: Callable[[], Fetched]) -> Pass:
    """Run ``fetch`` once, timed (wall clock and this process's CPU, every thread)."""
    cpu, started = _cpu_seconds(), time.perf_counter()
    read = fetch()
    seconds, spent = time.perf_counter() - started, _cpu_seconds() - cpu
    return Pass(read, read.manifests / seconds, 1000 * spent / max(1, read.manifests))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _chosen(tags: Iterable[tuple[str, str]], runs: int) -> list[tuple[str, str]]:
    """Every tag but the runs', and the first ``runs`` run tags (in the layout's order)."""
    out, taken = [], 0
    for tag, digest in tags:
        if tag.startswith("run-"):
            if taken >= runs:
                continue
            taken += 1
        out.append((tag, digest))
    return out


def push_slice(layout: Path, url: str, runs: int, threads: int = THREADS) -> int:
    """Push the slice (see the module doc) of the layout store ``layout`` to ``url``/REPO;
    how many manifests."""
    source, target = LayoutStore(layout), RegistryStore(url, REPO)

    def push(item: tuple[str, str]) -> None:
        tag, digest = item
        manifest = source.get_manifest(digest)
        for desc in (manifest.config, *manifest.layers):
            target.put_blob(source.get_blob(desc.digest), desc.media_type)
        target.put_manifest(manifest, tag)

    chosen = _chosen(source.list_manifests(), runs)
    try:
        # The config every manifest shares goes first: docker-registry answers 500 to a HEAD
        # of a blob another upload is still writing.
        config = source.get_manifest(chosen[0][1]).config
        target.put_blob(source.get_blob(config.digest), config.media_type)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(push, chosen))
    finally:
        target.close()
    return len(chosen)


class Registry:
    """A ``docker-registry`` on 127.0.0.1 serving the slice of ``runs`` runs of the organisation
    in ``directory`` (pushed the first time, kept in ``directory/registry`` for the next)."""

    def __init__(self, directory: Path, runs: int) -> None:
        self.organisation = directory
        self.root = directory / "registry"
        self.runs = runs
        self.server = RegistryServer(self.root)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def host(self) -> str:
        return self.server.host

    def __enter__(self) -> Registry:
        missing = RegistryServer.missing_binaries()
        if missing:
            raise RuntimeError(
                f"target 5 runs a local registry: install {', '.join(missing)} "
                "(Debian: apt-get install docker-registry)"
            )
        made = json.loads((self.organisation / "generated.json").read_text(encoding="utf-8"))
        wanted = {"generated": made["now"], "runs": self.runs}
        marker = self.root / "pushed.json"
        pushed = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None
        if pushed is None or {k: pushed.get(k) for k in wanted} != wanted:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True)
        self.server.start()
        if pushed is None or {k: pushed.get(k) for k in wanted} != wanted:
            started = time.perf_counter()
            try:
                manifests = push_slice(self.organisation / "store", self.url, self.runs)
            except BaseException:
                self.server.stop()
                raise
            seconds = round(time.perf_counter() - started, 1)
            marker.write_text(json.dumps({**wanted, "manifests": manifests, "seconds": seconds}))
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def _read(layer: dict[str, object]) -> bool:
    """Whether the crawl reads a layer of this media type."""
    media_type = str(layer.get("mediaType", ""))
    return is_document_layer(media_type) or media_type in EVIDENCE_MEDIA_TYPES


def minimal_fetch(url: str, threads: int = THREADS) -> Fetched:
    """The baseline (see the module doc)."""
    local = threading.local()
    sessions: list[requests.Session] = []

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            sessions.append(local.session)
        return local.session  # type: ignore[no-any-return]

    base = f"{url}/v2/{REPO}"
    tags: list[str] = []
    page: str | None = f"{base}/tags/list?n={RegistryListings.page_size}"
    while page:
        answer = session().get(page)
        answer.raise_for_status()
        tags += answer.json()["tags"]
        link = answer.links.get("next", {}).get("url")
        page = urljoin(page, link) if link else None

    def one(tag: str) -> tuple[int, int]:
        http = session()
        answer = http.get(f"{base}/manifests/{tag}", headers={"Accept": _ACCEPT})
        answer.raise_for_status()
        blobs, size = 0, len(answer.content)
        for layer in json.loads(answer.content).get("layers", []):
            if _read(layer):
                blob = http.get(f"{base}/blobs/{layer['digest']}")
                blob.raise_for_status()
                blobs, size = blobs + 1, size + len(blob.content)
        return blobs, size

    try:
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(one, tags))
    finally:
        for http in sessions:
            http.close()
    return Fetched(len(done), sum(b for b, _ in done), sum(s for _, s in done))


def _groups(candidates: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    while group := list(itertools.islice(candidates, size)):
        yield group


def crawl_fetch(host: str) -> Fetched:
    """The crawl's fetch phase (see the module doc) from ``host``/REPO."""
    source = open_source(f"{host}/{REPO}")
    threads = max(1, source.fetch_concurrency)
    manifests = blobs = size = 0

    def load(candidate: Candidate) -> Unit:
        return candidate.load()

    try:
        with ThreadPoolExecutor(threads) as pool:
            for group in _groups(source.candidates(), 4 * threads):
                for unit in pool.map(load, group):
                    if unit.error is not None:
                        raise RuntimeError(f"{unit.source}: {unit.error}")
                    manifests += 1
                    read = [d.raw for d in unit.documents if d.raw is not None]
                    read += list(unit.evidence.values())
                    if unit.published is not None:
                        read += [unit.published.raw or b""]
                    blobs += len(read)
                    size += sum(len(raw) for raw in read)
    finally:
        source.close()
    return Fetched(manifests, blobs, size)
