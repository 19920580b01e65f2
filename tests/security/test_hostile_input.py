"""Denial of service by one document: a lone surrogate, an impossible timestamp, a revision
written in superscript digits, deep nesting, duplicate keys, a FIFO or ``/dev/zero`` in a
crawled folder, a registry that pages forever.

One hostile document must become one ``not_verified``/``malformed`` row (or one skipped entry
with a warning) while every good document of the same batch reaches the lake; ``attestlake
verify`` reports every file. Every case is a real crawl into a real Delta lake, from a real
folder, an OCI layout directory, the real docker-registry of the ``registry`` fixture, or a
tiny HTTP server on 127.0.0.1 that this file starts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.contracts.publish import PREFIX, media_type, publish, revision_tag
from attestlake.crawl.crawl import CrawlResult, crawl
from attestlake.crawl.sources import open_source
from attestlake.crawl.sources.catalog import CatalogSource
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store import Descriptor, Manifest, Store
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE, MANIFEST_MEDIA_TYPE
from attestlake.store.registry import RegistryStore
from attestlake.verify.verify import load_policy
from tests.declared import secops
from tests.integration.cli_helpers import run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_crawl_store import Signer, make_signer, push, run_statement

GOOD = 3
TRUSTED_TABLES = ("runs", "subjects", "materials", "attestations WHERE trusted")


# -- documents ----------------------------------------------------------------------------------
def _envelope_text(signer: Signer, statement: dict[str, Any]) -> str:
    return signer.envelope(statement).decode()


def _statement_with(change: Callable[[dict[str, Any]], None]) -> Callable[[Signer], bytes]:
    def make(signer: Signer) -> bytes:
        statement = run_statement(90)
        change(statement)
        return signer.envelope(statement)  # json.dumps writes the surrogate as \udcff

    return make


def _envelope_with(old: str, new: str) -> Callable[[Signer], bytes]:
    def make(signer: Signer) -> bytes:
        text = _envelope_text(signer, run_statement(90))
        assert old in text
        return text.replace(old, new, 1).encode()

    return make


SURROGATE = "\udcff"
SURROGATES: dict[str, Callable[[Signer], bytes]] = {
    "keyid": _envelope_with('"keyid": "', '"keyid": "\\udcff'),
    "payloadType": _envelope_with('"payloadType": "', '"payloadType": "\\udcff'),
    "predicateType": _statement_with(
        lambda s: s.update(predicateType=s["predicateType"] + SURROGATE)
    ),
    "subject-name": _statement_with(lambda s: s["subject"][0].update(name="app" + SURROGATE)),
    "workflow-name": _statement_with(
        lambda s: s["predicate"]["workflow"].update(name="build" + SURROGATE)
    ),
    "object-key": _statement_with(lambda s: s["predicate"]["run"].update({SURROGATE: "x"})),
}


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def _deep_payload(signer: Signer) -> bytes:
    text = json.dumps(run_statement(91)).replace(
        '"annotations": {}', f'"annotations": {_deep(1000)}'
    )
    return signer.envelope(text.encode())


def _deep_envelope(signer: Signer) -> bytes:
    text = _envelope_text(signer, run_statement(92))
    return ('{"extra": ' + "[" * 5000 + "]" * 5000 + ", " + text[1:]).encode()


def _good_envelopes(signer: Signer) -> dict[str, bytes]:
    return {f"good-{n}.json": signer.envelope(run_statement(n)) for n in range(GOOD)}


def _policy(signer: Signer) -> Any:
    return load_policy(signer.trust)


def _lake_counts(lake: Path) -> dict[str, int]:
    with open_lake(lake) as opened:
        return {
            t: opened.sql(f"SELECT count(*) AS n FROM {t}").to_pylist()[0]["n"]
            for t in TRUSTED_TABLES
        }


def _verifications(lake: Path) -> list[dict[str, Any]]:
    with open_lake(lake) as opened:
        return opened.sql(
            "SELECT source, status, reason, detail FROM verifications ORDER BY source"
        ).to_pylist()


def _assert_good_ones_in(lake: Path, result: CrawlResult, bad: int) -> list[dict[str, Any]]:
    """The GOOD runs are in the lake, verified; the ``bad`` others are malformed rows."""
    rows = _verifications(lake)
    verified = [r for r in rows if r["status"] == "verified"]
    malformed = [r for r in rows if r["reason"] == "malformed"]
    assert (len(verified), len(malformed), len(rows)) == (GOOD, bad, GOOD + bad), rows
    assert (result.documents_verified, result.documents_not_verified) == (GOOD, bad)
    counts = _lake_counts(lake)
    assert counts["runs"] == GOOD and counts["attestations WHERE trusted"] == GOOD, counts
    return malformed


def _folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


# -- a lone surrogate ---------------------------------------------------------------------------
@pytest.mark.attack("loss")
@pytest.mark.parametrize("field", sorted(SURROGATES))
def test_a_lone_surrogate_in_one_envelope_is_one_malformed_row_and_the_batch_is_written(
    field: str, tmp_path: Path
) -> None:
    signer = make_signer(tmp_path / "keys")
    folder = _folder(
        tmp_path, {**_good_envelopes(signer), "hostile.json": SURROGATES[field](signer)}
    )

    result = crawl(open_source(str(folder)), tmp_path / "lake", _policy(signer), jobs=1)

    [bad] = _assert_good_ones_in(tmp_path / "lake", result, bad=1)
    assert bad["source"].endswith("hostile.json")
    assert "surrogate" in bad["detail"]


@pytest.mark.attack("loss")
@pytest.mark.registry
def test_lone_surrogates_pushed_to_a_registry_are_malformed_rows_and_the_crawl_exits_0(
    registry: RegistryServer, tmp_path: Path
) -> None:
    signer = make_signer(tmp_path / "keys")
    store = RegistryStore(registry.url, "hostile/surrogates")
    for name, envelope in _good_envelopes(signer).items():
        push(store, [(ENVELOPE_MEDIA_TYPE, envelope)], tag=name.removesuffix(".json"))
    for field, make in SURROGATES.items():
        push(store, [(ENVELOPE_MEDIA_TYPE, make(signer))], tag=f"hostile-{field.lower()}")

    done = run_cli(
        tmp_path,
        "crawl",
        "--from",
        f"{registry.host}/hostile/surrogates",
        "--lake",
        str(tmp_path / "lake"),
        "--trust",
        str(signer.trust),
    )

    assert done.code == 0, done.err
    assert "Traceback" not in done.err
    rows = _verifications(tmp_path / "lake")
    assert (
        sorted(r["status"] for r in rows)
        == ["not_verified"] * len(SURROGATES) + ["verified"] * GOOD
    )
    bad = [r for r in rows if r["status"] == "not_verified"]
    assert all(r["reason"] == "malformed" and "surrogate" in r["detail"] for r in bad), bad
    assert _lake_counts(tmp_path / "lake")["runs"] == GOOD


# -- contracts and inventories with hostile annotations -------------------------------------------
CONTRACT = b"""\
apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: build
spec:
  materials:
    - {type: CONTAINER_IMAGE, name: image, output: true}
"""
INVENTORY = b"""\
apiVersion: attestlake.dev/v1
kind: Inventory
workflows:
  - {workflow: build, project: app, team: a, owner: o@example.com, contract: build, cadence: daily}
"""
HOSTILE_ANNOTATIONS = {
    "created-overflow": {"org.opencontainers.image.created": "9999-12-31T23:59:59-23:59"},
    "revision-superscript": {PREFIX + "revision": "\u00b2"},
    "revision-huge": {PREFIX + "revision": "9" * 5000},
}


def _publish_hostile(store: Store, kind: str, name: str, annotations: dict[str, str]) -> None:
    raw = CONTRACT if kind == "contract" else INVENTORY
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    layer = store.put_blob(raw, media_type(kind))
    manifest = Manifest.build(
        artifact_type=media_type(kind),
        layers=[Descriptor(layer.media_type, layer.digest, layer.size)],
        annotations={
            PREFIX + "kind": kind,
            PREFIX + "name": name,
            PREFIX + "revision": "1",
            "org.opencontainers.image.created": "2024-05-30T00:00:00Z",
            **annotations,
        },
    )
    store.put_manifest(manifest, tag=revision_tag(kind, name, 1))


def _published_store(store: Store, signer: Signer, store_ref: str) -> None:
    """The good contract and inventory, signed by SecOps (whom ``signer``'s policy trusts for
    ``store_ref``), the hostile revisions, and good run envelopes."""
    declarer, declared = secops(signer.trust.parent, store_ref)
    signer.trust.write_text(signer.trust.read_text() + declared)
    publish(store, "contract", "build", CONTRACT, signer=declarer)
    publish(store, "inventory", "org", INVENTORY, signer=declarer)
    for n, (case, extra) in enumerate(HOSTILE_ANNOTATIONS.items()):
        kind = "contract" if n % 2 == 0 else "inventory"
        _publish_hostile(store, kind, case, extra)
    for name, envelope in _good_envelopes(signer).items():
        push(store, [(ENVELOPE_MEDIA_TYPE, envelope)], tag=name.removesuffix(".json"))


def _assert_published(lake: Path) -> None:
    with open_lake(lake) as opened:
        docs = opened.sql(
            "SELECT kind, name, error FROM published_documents ORDER BY kind, name"
        ).to_pylist()
        requirements = opened.sql(
            "SELECT DISTINCT contract_name FROM contract_requirements"
        ).to_pylist()
        inventory = opened.sql("SELECT DISTINCT inventory_name FROM inventory").to_pylist()
    good = {(d["kind"], d["name"]) for d in docs if d["error"] is None}
    bad = {d["name"] for d in docs if d["error"] is not None}
    assert good == {("contract", "build"), ("inventory", "org")}, docs
    assert len(docs) == 2 + len(HOSTILE_ANNOTATIONS), docs
    assert bad == set(HOSTILE_ANNOTATIONS), docs
    assert requirements == [{"contract_name": "build"}]
    assert inventory == [{"inventory_name": "org"}]
    assert _lake_counts(lake)["runs"] == GOOD


@pytest.mark.attack("crash")
def test_published_documents_with_hostile_annotations_are_malformed_rows_in_a_layout(
    tmp_path: Path,
) -> None:
    signer = make_signer(tmp_path / "keys")
    store = LayoutStore(tmp_path / "store")
    _published_store(store, signer, store.ref)

    result = crawl(store, tmp_path / "lake", _policy(signer), jobs=1)

    assert result.documents_verified == GOOD
    _assert_published(tmp_path / "lake")


@pytest.mark.attack("crash")
@pytest.mark.registry
def test_published_documents_with_hostile_annotations_in_a_registry_exit_0(
    registry: RegistryServer, tmp_path: Path
) -> None:
    signer = make_signer(tmp_path / "keys")
    ref = f"{registry.host}/hostile/published"
    _published_store(RegistryStore(registry.url, "hostile/published"), signer, ref)

    done = run_cli(
        tmp_path,
        "crawl",
        "--from",
        f"{registry.host}/hostile/published",
        "--lake",
        str(tmp_path / "lake"),
        "--trust",
        str(signer.trust),
    )

    assert done.code == 0, done.err
    assert "Traceback" not in done.err
    _assert_published(tmp_path / "lake")


@pytest.mark.attack("crash")
def test_listing_a_hostile_published_revision_is_a_clear_error(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "store")
    _publish_hostile(store, "contract", "build", HOSTILE_ANNOTATIONS["revision-superscript"])

    done = run_cli(tmp_path, "contract", "list", "--from", f"oci:{tmp_path / 'store'}")

    assert "Traceback" not in done.err, done.err
    assert done.code == 1 and "has no revision number" in done.err


# -- deep nesting -------------------------------------------------------------------------------
@pytest.mark.attack("loss")
def test_deep_nesting_in_a_payload_or_an_envelope_is_one_malformed_row_each(
    tmp_path: Path,
) -> None:
    signer = make_signer(tmp_path / "keys")
    folder = _folder(
        tmp_path,
        {
            **_good_envelopes(signer),
            "deep-payload.json": _deep_payload(signer),
            "deep-envelope.json": _deep_envelope(signer),
        },
    )

    result = crawl(open_source(str(folder)), tmp_path / "lake", _policy(signer), jobs=1)

    bad = _assert_good_ones_in(tmp_path / "lake", result, bad=2)
    assert all("levels deep" in r["detail"] for r in bad), bad


def _tag_raw_manifest(store: LayoutStore, raw: bytes, tag: str) -> None:
    """Put ``raw`` in the layout as a tagged manifest, as a hand-edited layout could hold it."""
    digest = store.put_blob(raw).digest
    index_path = store.root / "index.json"
    index = json.loads(index_path.read_bytes())
    index["manifests"].append(
        {
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": digest,
            "size": len(raw),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
    )
    index_path.write_text(json.dumps(index))


def _layout_with_runs(tmp_path: Path, signer: Signer) -> LayoutStore:
    store = LayoutStore(tmp_path / "store")
    for name, envelope in _good_envelopes(signer).items():
        push(store, [(ENVELOPE_MEDIA_TYPE, envelope)], tag=name.removesuffix(".json"))
    return store


@pytest.mark.attack("loss")
def test_a_deeply_nested_manifest_is_one_malformed_row(tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys")
    store = _layout_with_runs(tmp_path, signer)
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE, "layers": "L"}
    raw = json.dumps(manifest).replace('"L"', "[" * 50_000 + "]" * 50_000).encode()
    _tag_raw_manifest(store, raw, "deep")

    result = crawl(store, tmp_path / "lake", _policy(signer), jobs=1)

    [bad] = _assert_good_ones_in(tmp_path / "lake", result, bad=1)
    assert "levels deep" in bad["detail"]


@pytest.mark.attack("crash")
def test_a_deeply_nested_index_json_is_a_clear_error(tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys")
    store = _layout_with_runs(tmp_path, signer)
    (store.root / "index.json").write_text('{"manifests": ' + "[" * 50_000 + "]" * 50_000 + "}")

    done = run_cli(
        tmp_path,
        "crawl",
        "--from",
        f"oci:{store.root}",
        "--lake",
        str(tmp_path / "lake"),
        "--trust",
        str(signer.trust),
    )

    assert "Traceback" not in done.err, done.err
    assert done.code == 1
    assert "index.json" in done.err and "levels deep" in done.err


# -- duplicate keys: what one parser verifies, another reads differently ---------------------------
DUPLICATES = {
    "subject": ('"subject": ', '"subject": [{"name": "evil", "digest": {"sha256": "%s"}}], '),
    "predicateType": ('"predicateType": ', '"predicateType": "https://example.com/other", '),
}


@pytest.mark.attack("forgery")
@pytest.mark.parametrize("key", sorted(DUPLICATES))
def test_a_signed_statement_with_a_duplicate_key_is_never_verified(
    key: str, tmp_path: Path
) -> None:
    signer = make_signer(tmp_path / "keys")
    anchor, extra = DUPLICATES[key]
    text = json.dumps(run_statement(93))
    assert text.count(anchor) == 1
    text = text.replace(anchor, (extra % ("ee" * 32) if "%s" in extra else extra) + anchor)
    folder = _folder(tmp_path, {"twice.json": signer.envelope(text.encode())})

    result = crawl(open_source(str(folder)), tmp_path / "lake", _policy(signer), jobs=1)

    assert result.documents_verified == 0
    [row] = _verifications(tmp_path / "lake")
    assert (row["status"], row["reason"]) == ("not_verified", "malformed")
    assert f"the key '{key}' appears twice" in row["detail"]
    counts = _lake_counts(tmp_path / "lake")
    assert counts == dict.fromkeys(TRUSTED_TABLES, 0), counts


# -- files that are not regular files ---------------------------------------------------------
def _special_files(folder: Path) -> set[str]:
    os.mkfifo(folder / "pipe.json")
    (folder / "zero.json").symlink_to("/dev/zero")
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    (folder / "dir.json").mkdir()
    return {"pipe.json", "zero.json", "zero.jsonl"}


@pytest.mark.attack("crash")
def test_a_fifo_and_dev_zero_in_a_crawled_folder_are_skipped_with_a_warning(
    tmp_path: Path,
) -> None:
    signer = make_signer(tmp_path / "keys")
    folder = _folder(tmp_path, _good_envelopes(signer))
    skipped = _special_files(folder)
    started = time.monotonic()

    result = crawl(open_source(str(folder)), tmp_path / "lake", _policy(signer), jobs=1)

    assert time.monotonic() - started < 60
    _assert_good_ones_in(tmp_path / "lake", result, bad=0)
    warned = {Path(w.split(":")[0]).name for w in result.warnings if "not a regular file" in w}
    assert warned == skipped, result.warnings
    assert any("FIFO" in w for w in result.warnings)


# -- attestlake verify FILES: every file reported ----------------------------------------------
def _hostile_file(kind: str, folder: Path, signer: Signer) -> Path:
    if kind == "fifo":
        os.mkfifo(folder / "pipe.json")
        return folder / "pipe.json"
    if kind == "dev-zero":
        (folder / "zero.json").symlink_to("/dev/zero")
        return folder / "zero.json"
    if kind == "missing":
        return folder / "absent.json"
    if kind == "not-utf8-name":
        path = Path(os.fsdecode(bytes(folder) + b"/\xff.json"))
        path.write_bytes(signer.envelope(run_statement(94)) + b"x")
        return path
    data = {
        "deep-payload": _deep_payload,
        "deep-envelope": _deep_envelope,
        "surrogate": SURROGATES["predicateType"],
    }[kind](signer)
    (folder / f"{kind}.json").write_bytes(data)
    return folder / f"{kind}.json"


@pytest.mark.attack("crash")
@pytest.mark.parametrize(
    "kind",
    ["deep-payload", "deep-envelope", "surrogate", "fifo", "dev-zero", "missing", "not-utf8-name"],
)
def test_verify_reports_every_file_when_one_is_hostile(kind: str, tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys")
    folder = _folder(
        tmp_path, {**_good_envelopes(signer), "good-3.json": signer.envelope(run_statement(3))}
    )
    files = sorted(str(p) for p in folder.iterdir())
    hostile = _hostile_file(kind, folder, signer)
    files.insert(2, os.fsdecode(hostile))

    done = run_cli(tmp_path, "verify", *files, "--trust", str(signer.trust), "--format", "json")

    assert "Traceback" not in done.err, done.err
    assert done.code == 1
    assert done.err.strip().splitlines()[-1] == "1 of 5 not verified"
    records = done.json()
    assert [r["status"] for r in records] == [
        "verified",
        "verified",
        "not_verified",
        "verified",
        "verified",
    ]
    assert records[2]["reason"] == "malformed" and records[2]["detail"]
    assert [Path(r["source"]).name for r in records if r["status"] == "verified"] == [
        "good-0.json",
        "good-1.json",
        "good-2.json",
        "good-3.json",
    ]


# -- a registry that pages forever ----------------------------------------------------------------
class EndlessRegistry:
    """An HTTP server on 127.0.0.1 whose tag lists, catalog and referrers never end: each page
    lists nothing new (``mode`` "empty": nothing; "same": the names of the first page again)
    and links a ``next`` page never seen before."""

    def __init__(self, mode: str, elsewhere: str = "") -> None:
        self.mode = mode
        self.elsewhere = elsewhere  # a base URL that every ``next`` link points to
        self.requests = 0
        pages = count(1)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests += 1
                path = self.path.split("?")[0]
                link = f'<{owner.elsewhere}{path}?n=100&last=p{next(pages)}>; rel="next"'
                same = owner.mode == "same"
                if path == "/v2/":
                    body: dict[str, Any] = {}
                    link = ""
                elif path.endswith("/_catalog"):
                    body = {"repositories": ["hostile/repo"] if same else []}
                elif path.endswith("/tags/list"):
                    body = {"name": "hostile/repo", "tags": ["missing"] if same else []}
                elif "/referrers/" in path:
                    desc = {"mediaType": MANIFEST_MEDIA_TYPE, "digest": "sha256:" + "ab" * 32}
                    body = {
                        "schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{**desc, "size": 2}] if same else [],
                    }
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if link:
                    self.send_header("Link", link)
                self.end_headers()
                self.wfile.write(data)

            def do_HEAD(self) -> None:
                owner.requests += 1
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> EndlessRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(params=["empty", "same"])
def endless(request: pytest.FixtureRequest) -> Iterator[EndlessRegistry]:
    with EndlessRegistry(request.param) as server:
        yield server


@pytest.mark.attack("crash")
def test_endless_tag_catalog_and_referrer_pages_end_with_a_warning_in_seconds(
    endless: EndlessRegistry,
) -> None:
    store = RegistryStore(endless.url, "hostile/repo", retries=0)
    started = time.monotonic()

    tags = list(store.tags())
    catalog = list(store.catalog())
    referrers = store.referrers("sha256:" + "cd" * 32)

    assert time.monotonic() - started < 10
    expected = 1 if endless.mode == "same" else 0
    assert (len(tags), len(catalog), len(referrers)) == (expected,) * 3
    warnings = store.warnings()
    assert len(warnings) == 3, warnings
    assert all("stopped after" in w and "page" in w for w in warnings), warnings
    assert endless.requests < 20


@pytest.mark.attack("crash")
def test_a_crawl_of_an_endlessly_paging_registry_ends_with_a_warning(
    endless: EndlessRegistry, tmp_path: Path
) -> None:
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    source = CatalogSource(endless.url)
    started = time.monotonic()

    policy = load_policy(tmp_path / "trust.yaml")  # a registry listing nothing usable: allowed
    result = crawl(source, tmp_path / "lake", policy, jobs=1, allow_empty=True)

    assert time.monotonic() - started < 30
    assert result.documents == 0
    assert any("_catalog" in w or "catalog" in w for w in result.warnings), result.warnings
    assert all("Traceback" not in w for w in result.warnings)


@pytest.mark.attack("secret")
def test_a_next_page_on_another_host_is_never_requested() -> None:
    """A page that links to another host would send the registry's credentials there."""
    with EndlessRegistry("empty") as elsewhere, EndlessRegistry("same", elsewhere.url) as server:
        store = RegistryStore(server.url, "hostile/repo", retries=0)
        assert list(store.tags()) == ["missing"]
        assert list(store.catalog()) == ["hostile/repo"]
        assert len(store.referrers("sha256:" + "cd" * 32)) == 1
        assert elsewhere.requests == 0
        warnings = store.warnings()
        assert len(warnings) == 3 and all("another host" in w for w in warnings), warnings
