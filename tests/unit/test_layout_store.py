"""The OCI image-layout directory store: content addressing, bounds, atomicity, concurrency."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from attestlake.errors import ContentError, NotFound, StoreError
from attestlake.store import open_store
from attestlake.store.layout import REF_NAME, LayoutStore
from attestlake.store.oci import EMPTY_CONFIG, EMPTY_JSON, EMPTY_MEDIA_TYPE, Manifest


def _manifest(store: LayoutStore, payload: bytes) -> Manifest:
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    layer = store.put_blob(payload, "application/octet-stream")
    return Manifest.build(
        artifact_type="application/vnd.test+json", layers=[layer], annotations={"k": "v"}
    )


def test_layout_files_follow_the_oci_spec(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "s")
    m = _manifest(store, b"hello")
    store.put_manifest(m, tag="t1")
    assert json.loads((tmp_path / "s" / "oci-layout").read_text()) == {
        "imageLayoutVersion": "1.0.0"
    }
    index = json.loads((tmp_path / "s" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == m.digest
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "t1"}
    blob = tmp_path / "s" / "blobs" / "sha256" / m.digest.split(":")[1]
    assert blob.read_bytes() == m.raw
    assert store.get_manifest("t1").raw == m.raw
    assert store.get_manifest(m.digest).annotations == {"k": "v"}
    assert list(store.list_manifests()) == [("t1", m.digest)]


def test_retagging_replaces_and_identical_push_is_idempotent(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path)
    a, b = _manifest(store, b"a"), _manifest(store, b"b")
    store.put_manifest(a, tag="t")
    store.put_manifest(a, tag="t")
    assert list(store.list_manifests()) == [("t", a.digest)]
    store.put_manifest(b, tag="t")
    assert store.resolve("t") == b.digest
    assert len(list(store.tags())) == 1


def test_blob_on_disk_changed_is_refused(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path)
    desc = store.put_blob(b"original")
    (tmp_path / "blobs" / "sha256" / desc.digest.split(":")[1]).write_bytes(b"forged!!")
    with pytest.raises(ContentError, match="digest mismatch"):
        store.get_blob(desc.digest)


def test_size_bound_and_bad_digests(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path, max_blob_size=8)
    desc = store.put_blob(b"0123456789")
    with pytest.raises(ContentError, match="over the 8-byte bound"):
        store.get_blob(desc.digest)
    assert store.get_blob(desc.digest, max_size=100) == b"0123456789"
    with pytest.raises(ContentError, match="not a sha256 digest"):
        store.get_blob("sha256:../../etc/passwd")
    with pytest.raises(NotFound):
        store.get_blob("sha256:" + "0" * 64)
    with pytest.raises(NotFound):
        store.resolve("missing")


def test_manifest_naming_a_missing_blob_is_refused(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "a")
    m = _manifest(store, b"x")
    other = LayoutStore(tmp_path / "b")
    other.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    with pytest.raises(StoreError, match="which is not in"):
        other.put_manifest(m, tag="t")
    assert not (tmp_path / "b" / "index.json").exists()


def test_a_directory_that_is_not_a_layout_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not an OCI layout directory"):
        LayoutStore(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        LayoutStore(tmp_path / "file")


def test_concurrent_writers_lose_no_manifest(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path)
    manifests = [_manifest(store, f"m{i}".encode()) for i in range(40)]

    def push(chunk: list[Manifest], offset: int) -> None:
        for i, m in enumerate(chunk):
            LayoutStore(tmp_path).put_manifest(m, tag=f"t{offset + i}")

    threads = [threading.Thread(target=push, args=(manifests[i::4], i * 10)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(d for _, d in store.list_manifests()) == sorted(m.digest for m in manifests)


def test_manifest_parsing_is_strict() -> None:
    with pytest.raises(ContentError):
        Manifest.parse(b"not json")
    with pytest.raises(ContentError, match="schemaVersion 2"):
        Manifest.parse(b'{"schemaVersion": 1}')
    body = {
        "schemaVersion": 2,
        "config": EMPTY_CONFIG.to_json(),
        "layers": [{"mediaType": "x", "digest": "sha256:zz", "size": 1}],
    }
    with pytest.raises(ContentError, match="not a sha256 digest"):
        Manifest.parse(json.dumps(body).encode())
    body["layers"] = []
    raw = json.dumps(body).encode()
    with pytest.raises(ContentError, match="digest mismatch"):
        Manifest.parse(raw, "sha256:" + "1" * 64)


def test_open_store_layout_forms(tmp_path: Path) -> None:
    assert isinstance(open_store(f"oci:{tmp_path}"), LayoutStore)
    assert isinstance(open_store(str(tmp_path)), LayoutStore)


# -- index.json, listed as a stream -----------------------------------------------------------
def _entry(n: int, tag: str | None = None) -> dict[str, Any]:
    return {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + hashlib.sha256(str(n).encode()).hexdigest(),
        "size": 1000 + n,
        "annotations": {"org.opencontainers.image.ref.name": tag or f"run-{n:07d}"},
    }


def _layout(tmp_path: Path, index: bytes) -> LayoutStore:
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (tmp_path / "index.json").write_bytes(index)
    return LayoutStore(tmp_path)


def _index(*entries: Any) -> bytes:
    return json.dumps({"schemaVersion": 2, "manifests": list(entries)}).encode()


_GOOD = [_entry(n) for n in range(3)]
_DEEP = b"[" * 50_000 + b"]" * 50_000


@pytest.mark.parametrize(
    ("index", "why"),
    [
        (_index(*_GOOD)[:-30], "is not JSON: Unterminated string starting at: line 1"),
        (_index(*_GOOD)[:-2], "is not JSON: Expecting ',' delimiter: line 1"),
        (
            _index(*_GOOD, {"annotations": {"a": "x" * (2 << 20)}}),
            "is refused: manifests[3] is over 1048576 characters, the bound of one",
        ),
        (_index(*_GOOD).replace(b"]}", b", " + _DEEP + b"]}"), "is nested more than 32 levels"),
        (_index(*_GOOD).replace(b"]}", b", " + b"[" * 40 + b"]" * 40 + b"]}"), "nested 42 levels"),
        (_index(*_GOOD).replace(b'"size"', b'"digest": 1, "size"', 1), "the key 'digest' appears"),
        (_index(*_GOOD)[:-1] + b', "manifests": []}', "the key 'manifests' appears twice"),
        (_index(*_GOOD).replace(b"1002", b"NaN"), "is refused: NaN is not a JSON value"),
        (_index(*_GOOD) + b"\n{}", "is not JSON: Extra data: line 2 column 1"),
        (_index(*_GOOD).replace(b"run-0000002", b"run-\xff"), "not UTF-8 text (invalid start byte"),
        (_index(*_GOOD, 7), "is not an OCI image index: manifests[3] is not a descriptor"),
        (_index(*_GOOD, {"annotations": ["x"]}), "manifests[3] is not a descriptor"),
        (json.dumps({"manifests": {"a": _GOOD[0]}}).encode(), "is not an OCI image index"),
        (json.dumps({"schemaVersion": 2}).encode(), "is not an OCI image index"),
        (json.dumps([_GOOD]).encode(), "is not an OCI image index"),
        (b"", "is not JSON: Expecting value: line 1 column 1 (char 0)"),
    ],
)
def test_a_damaged_index_json_is_an_error_before_any_entry_is_listed(
    tmp_path: Path, index: bytes, why: str
) -> None:
    store = _layout(tmp_path, index)
    for listing in (store.list_manifests(), store.tags()):
        with pytest.raises(StoreError) as refused:
            next(iter(listing))
        assert str(refused.value).startswith(str(tmp_path / "index.json")), refused.value
        assert why in str(refused.value)
    with pytest.raises(StoreError, match=re.escape(why)):
        store.resolve("run-0000000")


def test_entries_are_listed_in_order_with_their_duplicates_and_without_bad_digests(
    tmp_path: Path,
) -> None:
    twice = _entry(1, tag="again")
    no_digest = {**_entry(5), "digest": "sha256:../../etc/passwd"}
    untagged = {**_entry(6), "annotations": {}}
    store = _layout(tmp_path, _index(*_GOOD, twice, no_digest, untagged))
    assert list(store.list_manifests()) == [
        *((e["annotations"][REF_NAME], e["digest"]) for e in _GOOD),
        ("again", _GOOD[1]["digest"]),
    ]
    assert store.warnings() == [
        f"{tmp_path / 'index.json'}: manifests[4] has no sha256 digest: skipped"
    ]
    assert list(store.tags()) == [
        "run-0000000",
        "run-0000001",
        "run-0000002",
        "again",
        "run-0000005",
    ]
    assert store.resolve("again") == _GOOD[1]["digest"]


def test_a_listing_reads_the_index_json_it_opened_while_a_push_replaces_it(
    tmp_path: Path,
) -> None:
    store = LayoutStore(tmp_path)
    pushed = [_manifest(store, f"m{i}".encode()) for i in range(4)]
    for i, m in enumerate(pushed[:3]):
        store.put_manifest(m, tag=f"t{i}")
    listing = store.list_manifests()
    first = next(listing)
    store.put_manifest(pushed[3], tag="t3")  # a new index.json renamed over the listed one
    assert [first, *listing] == [(f"t{i}", m.digest) for i, m in enumerate(pushed[:3])]
    assert len(list(store.list_manifests())) == 4


def test_listing_a_large_index_json_holds_about_one_entry_at_a_time(tmp_path: Path) -> None:
    """Memory bounded by the chunk read and one entry, not by the index (a million runs:
    about 290 MB of index.json): here an index.json of twice the bound."""
    entries = 100_000
    with (tmp_path / "index.json").open("w") as out:
        out.write('{"schemaVersion": 2, "manifests": [')
        out.write(", ".join(json.dumps(_entry(n)) for n in range(entries)))
        out.write("]}")
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    store = LayoutStore(tmp_path)
    size = (tmp_path / "index.json").stat().st_size
    assert size > 20 * 1024 * 1024
    gc.collect()
    tracemalloc.start()
    try:
        listed = sum(1 for _ in store.list_manifests())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert listed == entries
    assert peak < 12 * 1024 * 1024, f"{peak} bytes at the peak to list {size} bytes"
