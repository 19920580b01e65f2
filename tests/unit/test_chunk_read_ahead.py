"""A worker has a chunk's units read into the page cache ahead of the one it inspects, by a
thread that only asks the kernel for them, so that a store not in the page cache does not
leave the worker waiting on each read in turn. What the chunk gives back is what reading one
unit after another gives: every unit in order, the store's transient failures as warnings in
order, and a loader's bug raised. A store already cached is not read ahead."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestlake.crawl.chunk import CACHED_IN_A_ROW, ChunkResult, Fetch, inspect_chunk
from attestlake.crawl.sources.interface import Unit
from attestlake.crawl.sources.store import UNIT_DOCUMENTS, WARMED_LAYERS, LayoutLoader
from attestlake.errors import StoreError
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import Descriptor, Manifest
from attestlake.verify.trust import TrustPolicy

NOW = datetime(2026, 12, 1, tzinfo=UTC)
POLICY = TrustPolicy("policy.yaml", ())
SBOM = "application/vnd.cyclonedx+json"


@dataclass
class Loader:
    """Reads unit ``key`` as an unreadable manifest (one row each), fails as a store does for
    the keys in ``failing``, raises a bug for those in ``buggy``; records what it was asked to
    warm, and answers that it was cached for the keys in ``cached``."""

    failing: frozenset[str] = frozenset()
    buggy: frozenset[str] = frozenset()
    cached: frozenset[str] = frozenset()
    warmed: list[str] = field(default_factory=list)
    #: Set once the unit of this key was warmed; the first read waits for it.
    wait_for: str | None = None
    reached: threading.Event = field(default_factory=threading.Event)

    def __call__(self, key: str, source: str) -> Unit:
        if self.wait_for is not None:
            # Read one after another, the warming could not have got there yet.
            assert self.reached.wait(10), "nothing was warmed ahead of the first read"
            self.wait_for = None
        if key in self.failing:
            raise StoreError("connection reset")
        if key in self.buggy:
            raise ZeroDivisionError("a loader bug")
        return Unit(key, source, error=f"manifest unreadable: {key}")

    def warm(self, key: str) -> bool:
        self.warmed.append(key)
        if key == self.wait_for:
            self.reached.set()
        return key in self.cached


def _key(i: int) -> str:
    return f"sha256:{i:064x}"


def _work(loader: Loader, count: int) -> list[Fetch]:
    return [Fetch(loader, _key(i), f"oci:store:t{i}") for i in range(count)]


def _keys(result: ChunkResult) -> list[str]:
    return [u.key for u in result.units]


def test_units_and_failures_come_back_in_the_order_of_the_chunk() -> None:
    loader = Loader(failing=frozenset(_key(i) for i in (0, 5, 6, 40)))
    work = _work(loader, 64)
    result = inspect_chunk(work, POLICY, NOW)
    kept = [f.key for i, f in enumerate(work) if i not in (0, 5, 6, 40)]
    assert _keys(result) == kept
    assert list(result.skipped) == [
        f"oci:store:t{i}: skipped, store failed: connection reset" for i in (0, 5, 6, 40)
    ]
    rows = result.tables()["verifications"].to_pylist()
    assert [r["manifest_digest"] for r in rows] == kept
    assert loader.warmed == [f.key for f in work]  # every unit, in order


def test_the_units_ahead_are_warmed_while_the_first_is_read() -> None:
    loader = Loader(wait_for=_key(5))
    result = inspect_chunk(_work(loader, 10), POLICY, NOW)
    assert _keys(result) == [_key(i) for i in range(10)]


def test_a_cached_store_is_not_read_ahead_past_a_few_units() -> None:
    loader = Loader(cached=frozenset(_key(i) for i in range(64)))
    inspect_chunk(_work(loader, 64), POLICY, NOW)
    assert loader.warmed == [_key(i) for i in range(CACHED_IN_A_ROW)]
    # A unit not cached starts the count again.
    loader = Loader(cached=frozenset(_key(i) for i in range(64) if i != 2))
    inspect_chunk(_work(loader, 64), POLICY, NOW)
    assert loader.warmed == [_key(i) for i in range(3 + CACHED_IN_A_ROW)]


def test_a_loader_bug_is_raised_not_taken_for_a_store_failure() -> None:
    loader = Loader(buggy=frozenset({_key(3)}))
    with pytest.raises(ZeroDivisionError, match="a loader bug"):
        inspect_chunk(_work(loader, 10), POLICY, NOW)


def test_a_unit_alone_is_not_read_ahead() -> None:
    loader = Loader()
    inspect_chunk(_work(loader, 1), POLICY, NOW)
    assert loader.warmed == []


@pytest.fixture
def cold(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every blob out of the page cache (as a store too large for it is), and the blobs
    asked for, with their lengths, recorded (and really asked for)."""
    asked: list[tuple[str, int]] = []
    real = LayoutStore.warm_blob

    def warm_blob(self: LayoutStore, digest: str, size: int) -> None:
        asked.append((digest, size))
        real(self, digest, size)

    monkeypatch.setattr(LayoutStore, "in_page_cache", lambda self, digest: False)
    monkeypatch.setattr(LayoutStore, "warm_blob", warm_blob)
    return asked


def _loader(store: LayoutStore, max_document_size: int = 1 << 20) -> LayoutLoader:
    return LayoutLoader(str(store.root), "oci:store", "oci:store", max_document_size, 1 << 20)


def test_a_blob_just_written_is_in_the_page_cache(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    blob = store.put_blob(b"{}")
    assert store.in_page_cache(blob.digest)
    assert _loader(store).warm(blob.digest) is True  # nothing more is asked for


def test_a_layout_unit_out_of_the_page_cache_has_its_documents_and_evidence_asked_for(
    tmp_path: Path, cold: list[tuple[str, int]]
) -> None:
    store = LayoutStore(tmp_path / "store")
    store.put_blob(b"{}")  # the empty config
    envelope = store.put_blob(b'{"payload": "not read here"}', ENVELOPE_MEDIA_TYPE)
    other = store.put_blob(b"not a document", "application/octet-stream")
    sbom = store.put_blob(b'{"bomFormat": "CycloneDX"}', SBOM)
    layers = [envelope, other, sbom]
    manifest = Manifest.build(artifact_type="application/vnd.test", layers=layers, annotations={})
    store.put_manifest(manifest, tag="run")
    loader = _loader(store)
    assert loader.warm(manifest.digest) is False
    assert cold == [(envelope.digest, envelope.size), (sbom.digest, sbom.size)]
    unit = loader(manifest.digest, "oci:store:run")  # read as it would be without
    assert [d.raw for d in unit.documents] == [b'{"payload": "not read here"}']
    assert dict(unit.evidence) == {sbom.digest: b'{"bomFormat": "CycloneDX"}'}


def test_what_is_asked_for_is_bounded_as_a_unit_is(
    tmp_path: Path, cold: list[tuple[str, int]]
) -> None:
    store = LayoutStore(tmp_path / "store")
    store.put_blob(b"{}")
    layers = [store.put_blob(b"x" * (100 + i), ENVELOPE_MEDIA_TYPE) for i in range(20)]
    manifest = Manifest.build(artifact_type="application/vnd.test", layers=layers, annotations={})
    store.put_manifest(manifest, tag="run")
    _loader(store, max_document_size=64).warm(manifest.digest)
    assert [size for _, size in cold] == [64] * UNIT_DOCUMENTS  # each, and all together


@pytest.mark.parametrize("damage", ["missing", "garbage", "fifo", "layer missing"])
def test_warming_a_damaged_unit_raises_nothing(
    tmp_path: Path, cold: list[tuple[str, int]], damage: str
) -> None:
    store = LayoutStore(tmp_path / "store")
    envelope = store.put_blob(b"{}", ENVELOPE_MEDIA_TYPE)  # also the empty config
    manifest = Manifest.build(
        artifact_type="application/vnd.test", layers=[envelope], annotations={}
    )
    store.put_manifest(manifest, tag="run")
    path = store._blob_path(manifest.digest)
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"[" * 100_000)
    elif damage == "fifo":
        path.unlink()
        os.mkfifo(path)
    else:
        store._blob_path(envelope.digest).unlink()
    loader = _loader(store)
    assert loader.warm(manifest.digest) is False
    assert loader.warm("sha256:../../etc/passwd") is False
    assert loader.warm("../" + manifest.digest) is False
    assert cold == ([(envelope.digest, 2)] if damage == "layer missing" else [])


def test_a_manifest_of_many_layers_asks_for_a_few_once_each_and_never_a_whole_file(
    tmp_path: Path, cold: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LayoutStore(tmp_path / "store")
    store.put_blob(b"{}")
    layers = [store.put_blob(b"d%d" % i, ENVELOPE_MEDIA_TYPE) for i in range(40)]
    twice = [layers[0], layers[0], *layers]
    manifest = Manifest.build(artifact_type="application/vnd.test", layers=twice, annotations={})
    store.put_manifest(manifest, tag="run")
    _loader(store).warm(manifest.digest)
    assert [d for d, _ in cold] == [layer.digest for layer in layers[:WARMED_LAYERS]]

    # A layer that claims no bytes: fadvise's length 0 would mean the whole file.
    asked: list[int] = []
    monkeypatch.setattr(
        os, "posix_fadvise", lambda fd, offset, length, advice: asked.append(length)
    )
    big = store.put_blob(b"x" * 100_000, ENVELOPE_MEDIA_TYPE)
    empty = Descriptor(ENVELOPE_MEDIA_TYPE, big.digest, 0)
    small = store.put_blob(b"y" * 10, ENVELOPE_MEDIA_TYPE)
    manifest = Manifest.build(
        artifact_type="application/vnd.test", layers=[empty, small], annotations={}
    )
    store.put_manifest(manifest, tag="run2")
    _loader(store).warm(manifest.digest)
    assert asked == [10]
