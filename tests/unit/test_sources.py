"""Discovery: files and folders, one OCI repository (tags, referrers tag schema, cosign .att),
and which source a reference names."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from attestlake.crawl.crawl import parse_size
from attestlake.crawl.sources import open_source
from attestlake.crawl.sources.catalog import CatalogSource
from attestlake.crawl.sources.files import FileSource
from attestlake.crawl.sources.interface import batched
from attestlake.crawl.sources.store import StoreSource
from attestlake.errors import ContentError, InputError, NotFound
from attestlake.store import Descriptor, Manifest, Store, sha256_digest
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import (
    EMPTY_JSON,
    EMPTY_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    Index,
    referrers_tag,
    verify_content,
)

DSSE = "application/vnd.dsse.envelope.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- files and folders -------------------------------------------------------------------------
def test_folder_walk_jsonl_lines_and_labels(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.json").write_bytes(b'{"a": 1}\n')
    (tmp_path / "sub" / "b.jsonl").write_bytes(b'{"b": 1}\r\n\n   \n{"b": 2}')
    (tmp_path / "sub" / "c.sigstore").write_bytes(b"{}")
    (tmp_path / "README.md").write_text("# not read")
    (tmp_path / ".hidden" / "x.json").write_text("{}")
    (tmp_path / ".dot.json").write_text("{}")
    source = FileSource(tmp_path)
    found = [(c.source.removeprefix(f"{tmp_path}/"), c.key) for c in source.candidates()]
    assert found == [
        ("a.json", digest(b'{"a": 1}\n')),
        ("sub/b.jsonl:1", digest(b'{"b": 1}')),
        ("sub/b.jsonl:4", digest(b'{"b": 2}')),
        ("sub/c.sigstore", digest(b"{}")),
    ]
    unit = next(iter(source.candidates())).load()
    assert unit.documents[0].raw == b'{"a": 1}\n' and unit.key == unit.documents[0].digest
    # A file named directly is read whatever its name.
    assert [c.source for c in FileSource(tmp_path / "README.md").candidates()] == [
        str(tmp_path / "README.md")
    ]


def test_documents_over_the_bound_are_not_read(tmp_path: Path) -> None:
    big = b"{" + b" " * 100 + b"}"
    (tmp_path / "big.json").write_bytes(big)
    (tmp_path / "lines.jsonl").write_bytes(b"{}\n" + big + b"\n" + b"{}\n" + b'{"x":1}')
    source = FileSource(tmp_path, max_document_size=50)
    units = [c.load() for c in source.candidates()]
    assert [u.source.rsplit("/", 1)[1] for u in units] == [
        "big.json",
        "lines.jsonl:1",
        "lines.jsonl:2",
        "lines.jsonl:3",
        "lines.jsonl:4",
    ]
    big_file, first, big_line, again, last = units
    assert big_file.documents[0].raw is None and "102 bytes" in str(big_file.documents[0].error)
    assert big_file.key == digest(big)
    assert big_line.documents[0].raw is None and "over the 50-byte bound" in str(
        big_line.documents[0].error
    )
    assert first.key == again.key  # the same document twice: one key (the crawler dedupes)
    assert last.documents[0].raw == b'{"x":1}'


def test_unreadable_file_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.json").symlink_to(tmp_path / "missing.json")
    source = FileSource(tmp_path)
    assert list(source.candidates()) == []
    assert "a.json: cannot read" in source.warnings()[0]


# -- one repository ----------------------------------------------------------------------------
class MemoryStore(Store):
    """An in-memory store whose manifests are blobs (like the layout), with tags."""

    def __init__(self) -> None:
        self.ref = "mem:repo"
        self.blobs: dict[str, bytes] = {}
        self.tag_map: dict[str, str] = {}
        self.fail_on: set[str] = set()

    def has_blob(self, digest: str) -> bool:
        return digest in self.blobs

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        desc = Descriptor.for_bytes(media_type, data)
        self.blobs[desc.digest] = data
        return desc

    def get_blob(self, digest: str, *, max_size: int | None = None) -> bytes:
        if digest in self.fail_on:
            raise ContentError(f"blob {digest} digest mismatch")
        if digest not in self.blobs:
            raise NotFound(digest)
        data = self.blobs[digest]
        if max_size is not None and len(data) > max_size:
            raise ContentError("too big")
        return verify_content(data, digest)

    def put_manifest(self, manifest: Manifest, tag: str | None = None) -> Descriptor:
        self.blobs[manifest.digest] = manifest.raw
        if tag:
            self.tag_map[tag] = manifest.digest
        return manifest.descriptor()

    def put_index(self, manifests: list[Descriptor], tag: str) -> str:
        raw = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": INDEX_MEDIA_TYPE,
                "manifests": [m.to_json() for m in manifests],
            }
        ).encode()
        self.blobs[sha256_digest(raw)] = raw
        self.tag_map[tag] = sha256_digest(raw)
        return sha256_digest(raw)

    def get_manifest(self, reference: str) -> Manifest:
        d = reference if reference.startswith("sha256:") else self.resolve(reference)
        return Manifest.parse(self.get_blob(d), d)

    def tags(self) -> Iterator[str]:
        yield from sorted(self.tag_map)

    def resolve(self, tag: str) -> str:
        if tag not in self.tag_map:
            raise NotFound(tag)
        return self.tag_map[tag]


def artifact(
    store: Store, layers: list[tuple[str, bytes]], subject: Descriptor | None = None
) -> Manifest:
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    descs = [store.put_blob(data, media) for media, data in layers]
    return Manifest.build(artifact_type="t", layers=descs, annotations={}, subject=subject)


def test_store_source_tags_referrers_and_att() -> None:
    store = MemoryStore()
    image = artifact(store, [("application/octet-stream", b"image")])
    store.put_manifest(image, "v1")
    att = artifact(store, [(DSSE, b'{"dsse": 1}'), (DSSE, b'{"dsse": 1}')])
    store.put_manifest(att, image.digest.replace(":", "-") + ".att")
    ref = artifact(store, [(BUNDLE, b'{"bundle": 1}')], subject=image.descriptor())
    store.put_manifest(ref)  # untagged
    store.put_index([ref.descriptor()], referrers_tag(image.digest))
    assert [d.digest for d in store.referrers(image.digest)] == [ref.digest]
    assert store.referrers(att.digest) == [] and not store.has_referrers_api()

    source = StoreSource(store)
    found = [(c.key, c.source) for c in source.candidates()]
    assert found == [
        (ref.digest, f"mem:repo@{image.digest}"),
        (att.digest, f"mem:repo:{referrers_tag(image.digest)}.att"),
        (image.digest, "mem:repo:v1"),
    ]
    units = {c.key: c.load() for c in source.candidates()}
    assert units[image.digest].documents == ()
    assert [d.raw for d in units[att.digest].documents] == [b'{"dsse": 1}']  # deduped layer
    assert units[ref.digest].documents[0].raw == b'{"bundle": 1}'


def test_store_source_bad_content_becomes_errors() -> None:
    store = MemoryStore()
    ok = artifact(
        store, [(DSSE, b"{}"), (DSSE, b"x" * 100), ("application/vnd.cyclonedx+json", b"{}")]
    )
    store.put_manifest(ok, "run")
    bad = artifact(store, [(DSSE, b'{"tampered": true}')])
    store.put_manifest(bad, "bad")
    store.fail_on.add(bad.layers[0].digest)
    store.blobs["sha256:" + "f" * 64] = b"not json"
    store.tag_map["junk"] = "sha256:" + "f" * 64
    source = StoreSource(store, max_document_size=50)
    units = {c.source.rsplit(":", 1)[1]: c.load() for c in source.candidates()}
    assert units["junk"].error is not None and "manifest unreadable" in units["junk"].error
    assert "digest mismatch" in str(units["bad"].documents[0].error)
    small, big = units["run"].documents
    assert small.raw == b"{}" and big.raw is None and "over the 50-byte bound" in str(big.error)
    assert list(units["run"].evidence.values()) == [b"{}"]


def test_index_parsing_is_strict() -> None:
    with pytest.raises(ContentError):
        Index.parse(b'{"schemaVersion": 2, "manifests": "x"}')
    with pytest.raises(ContentError):
        Index.parse(b"[" * 10_000)


# -- references --------------------------------------------------------------------------------
def test_open_source_picks_the_kind(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "store")
    layout.put_blob(b"x")
    assert isinstance(open_source(str(tmp_path / "store")), StoreSource)
    assert isinstance(open_source(f"oci:{tmp_path / 'new'}"), StoreSource)
    (tmp_path / "folder").mkdir()
    assert isinstance(open_source(str(tmp_path / "folder")), FileSource)
    registry = open_source("127.0.0.1:5000/team/app")
    assert isinstance(registry, StoreSource) and registry.ref == "http://127.0.0.1:5000/team/app"
    catalog = open_source("registry.example.com/team/*")
    assert isinstance(catalog, CatalogSource)
    assert (catalog.ref, catalog.prefix) == ("https://registry.example.com/team/*", "team/")
    assert open_source("http://localhost:5000/*").ref == "http://localhost:5000/*"
    with pytest.raises(InputError, match="no such file"):
        open_source(str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("text", "size"), [("100", 100), ("2k", 2048), ("32M", 32 << 20), ("1GiB", 1 << 30)]
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1", "1T", "lots"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(InputError):
        parse_size(text)


def test_batched() -> None:
    assert list(batched(range(5), 2)) == [(0, 1), (2, 3), (4,)]
