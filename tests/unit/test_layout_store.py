"""The OCI image-layout directory store: content addressing, bounds, atomicity, concurrency."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from attestlake.errors import ContentError, NotFound, StoreError
from attestlake.store import open_store
from attestlake.store.layout import LayoutStore
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
