"""Denial of service by hostile documents and stores, beyond test_hostile_input: YAML that
nests or aliases without end in a contract or inventory (linted, or published to a store and
crawled); a registry whose answers never end, or arrive one byte at a time (headers or body);
a manifest of many large documents; an SBOM of millions of empty components; a tag list,
catalog or referrers listing of millions of names, or of names no repository or tag can have;
an OCI layout whose index.json has an entry without a digest; redirects to another host.

A hostile document must become a clear error (exit 1, no traceback), one ``malformed`` row or
one short warning while the crawl goes on, in bounded time and memory. Every case runs for
real: the CLI in a subprocess, a real crawl into a real Delta lake from an OCI layout
directory, a folder or the real docker-registry of the ``registry`` fixture, or a tiny HTTP
server on 127.0.0.1 that this file starts.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from attestlake import open_lake
from attestlake.contracts.publish import PREFIX, media_type, publish, revision_tag
from attestlake.crawl.crawl import crawl
from attestlake.crawl.normalize.sbom import MAX_COMPONENTS
from attestlake.crawl.sources.catalog import CatalogSource
from attestlake.crawl.sources.files import FileSource
from attestlake.errors import StoreError, TrustPolicyError
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store import Descriptor, Manifest, Store
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, MAX_BLOB_SIZE
from attestlake.store.registry import RegistryStore
from attestlake.store.registry_listings import MAX_NAMES
from attestlake.verify.verify import load_policy
from tests.declared import secops
from tests.integration.cli_helpers import run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_crawl_store import make_signer, push, run_statement

# -- YAML bombs -----------------------------------------------------------------------------------
DEEP_FLOW = b"apiVersion: attestlake.dev/v1\nkind: Contract\nspec: " + b"[" * 200_000
DEEP_MAP = b"apiVersion: attestlake.dev/v1\nkind: Contract\nspec: " + b"{a: " * 100_000
LAUGHS = (
    b"apiVersion: attestlake.dev/v1\nkind: Contract\nmetadata: {name: lol}\nspec:\n  policies:\n"
    + b"".join(
        b"  - &l%d [%s]\n" % (i, b", ".join([b"*l%d" % (i - 1)] * 9) if i else b"lol")
        for i in range(400)
    )
)
YAML_BOMBS = {"deep-flow": DEEP_FLOW, "deep-mapping": DEEP_MAP, "aliases": LAUGHS}


@pytest.mark.attack("crash")
@pytest.mark.parametrize("bomb", sorted(YAML_BOMBS))
@pytest.mark.parametrize("kind", ["contract", "inventory"])
def test_a_yaml_bomb_is_a_clear_lint_error(bomb: str, kind: str, tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_bytes(YAML_BOMBS[bomb])

    result = run_cli(tmp_path, kind, "lint", "bomb.yaml")

    assert result.code == 1, result
    assert "Traceback" not in result.err + result.out
    assert "bomb.yaml" in result.err and "YAML" in result.err, result.err


GOOD_CONTRACT = b"""\
apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: build
spec:
  materials:
    - {type: CONTAINER_IMAGE, name: image, output: true}
"""


def _publish_raw(store: Store, kind: str, name: str, raw: bytes) -> None:
    """Publish ``raw`` as revision 1 of ``name`` as it is, bypassing the lint of publish()."""
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
        },
    )
    store.put_manifest(manifest, tag=revision_tag(kind, name, 1))


@pytest.mark.attack("crash")
def test_published_yaml_bombs_are_one_malformed_row_each_and_the_crawl_goes_on(
    tmp_path: Path,
) -> None:
    store = LayoutStore(tmp_path / "store")
    signer, declared = secops(tmp_path, "oci:store")
    publish(store, "contract", "build", GOOD_CONTRACT, signer=signer)
    for n, (bomb, raw) in enumerate(sorted(YAML_BOMBS.items())):
        _publish_raw(store, "contract" if n % 2 else "inventory", bomb, raw)
    (tmp_path / "trust.yaml").write_text("keys: []\n" + declared)
    started = time.monotonic()

    result = crawl(store, tmp_path / "lake", load_policy(tmp_path / "trust.yaml"), jobs=1)

    assert time.monotonic() - started < 30
    assert result.published == {"contract": 2, "inventory": 2}, result
    with open_lake(tmp_path / "lake") as lake:
        docs = lake.sql("SELECT name, error FROM published_documents ORDER BY name").to_pylist()
        requirements = lake.sql("SELECT DISTINCT contract_name FROM contract_requirements")
    errors = {d["name"]: d["error"] for d in docs}
    assert errors.pop("build") is None
    assert sorted(errors) == sorted(YAML_BOMBS)
    assert all("not valid YAML" in e for e in errors.values()), errors
    assert requirements.to_pylist() == [{"contract_name": "build"}]


# -- a registry whose bodies never end, or crawl in one byte at a time ----------------------------
class HostileBodies:
    """An HTTP server on 127.0.0.1 that answers every GET under ``/v2/`` (a manifest, a blob,
    tags/list, referrers, a token) with a body that is ``endless`` (chunked, no Content-Length,
    up to ``cap`` bytes of JSON whitespace, far over every bound), ``slow`` (a Content-Length,
    then one byte every ``pace`` seconds, for at most ``cap`` bytes) or ``slow headers`` (a
    header line that grows by one byte every ``pace`` seconds). ``sent`` counts the body
    bytes it managed to write, ``requests`` the requests; a Bearer challenge points at its own
    ``/token`` when ``challenge`` is set."""

    def __init__(self, mode: str, cap: int, pace: float = 0.2, challenge: bool = False) -> None:
        self.mode, self.cap, self.pace, self.challenge = mode, cap, pace, challenge
        self.sent = 0
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                owner.requests += 1
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                owner.requests += 1
                path = self.path.split("?")[0]
                if owner.challenge and path != "/token" and "Authorization" not in self.headers:
                    self.send_response(401)
                    realm = f"http://127.0.0.1:{owner.port}/token"
                    self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="x"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if owner.mode == "slow headers":
                    self._slow_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                try:
                    if owner.mode == "endless":
                        self._endless()
                    else:
                        self._slow()
                except OSError:
                    pass  # the client hung up: what the test wants
                self.close_connection = True

            def _endless(self) -> None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b" " * 65536
                frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
                while owner.sent < owner.cap:
                    self.wfile.write(frame)
                    owner.sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")

            def _slow_headers(self) -> None:
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    while owner.sent < owner.cap:
                        self.wfile.write(b"z")
                        self.wfile.flush()
                        owner.sent += 1
                        time.sleep(owner.pace)
                except OSError:
                    pass
                self.close_connection = True

            def _slow(self) -> None:
                self.send_header("Content-Length", str(owner.cap))
                self.end_headers()
                self.wfile.flush()
                while owner.sent < owner.cap:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    owner.sent += 1
                    time.sleep(owner.pace)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> HostileBodies:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


DIGEST = "sha256:" + "ab" * 32
READS: dict[str, Callable[[RegistryStore], object]] = {
    "manifest": lambda store: store.get_manifest(DIGEST),
    "blob": lambda store: store.get_blob(DIGEST),
    "tag list": lambda store: list(store.tags()),
    "referrers": lambda store: store.referrers(DIGEST),
    "token": lambda store: store.get_manifest(DIGEST),
}
ENDLESS_CAP = 256 * 1024 * 1024


@pytest.mark.attack("crash")
@pytest.mark.parametrize("read", sorted(READS))
def test_an_endless_body_is_cut_at_its_bound_and_is_a_clear_error(read: str) -> None:
    """Read into memory before it is bounded, an endless body exhausts the crawler."""
    with HostileBodies("endless", ENDLESS_CAP, challenge=read == "token") as server:
        store = RegistryStore(server.url, "hostile/repo", retries=0)
        with pytest.raises(StoreError) as caught:
            READS[read](store)
        store.close()

    assert "bound" in str(caught.value), caught.value
    assert server.sent < 2 * MAX_BLOB_SIZE, f"{server.sent} bytes read"


@pytest.mark.attack("crash")
@pytest.mark.parametrize("read", sorted(READS))
@pytest.mark.parametrize("mode", ["slow", "slow headers"])
def test_an_answer_sent_one_byte_at_a_time_ends_at_the_deadline(mode: str, read: str) -> None:
    """Each byte arrives within the read timeout, so only a deadline on the whole answer ends
    a slowloris registry."""
    with HostileBodies(mode, cap=300, pace=0.05, challenge=read == "token") as server:
        store = RegistryStore(server.url, "hostile/repo", timeout=0.2)  # deadline 2 s
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            READS[read](store)
        took = time.monotonic() - started
        store.close()

    assert took < 6, f"{took:.0f} s: a stalled answer is not asked for again"
    assert "within" in str(caught.value), caught.value


# -- one manifest that holds a great many documents -----------------------------------------------
@pytest.mark.attack("crash")
def test_a_manifest_of_many_large_documents_is_read_up_to_its_bound_and_each_is_a_row(
    tmp_path: Path,
) -> None:
    """Each document is within the document bound, but together they would be read into
    memory at once (one unit): past eight documents' worth, the rest are rows, not bytes."""
    bound = 128 * 1024
    signer = make_signer(tmp_path / "keys")
    store = LayoutStore(tmp_path / "store")
    junk = [b"%d" % n + b" " * (100 * 1024) for n in range(20)]
    documents = [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(7)))]
    push(store, documents + [(ENVELOPE_MEDIA_TYPE, j) for j in junk], tag="many")

    result = crawl(store, tmp_path / "lake", load_policy(signer.trust), max_document_size=bound)

    assert (result.documents, result.documents_verified) == (21, 1), result
    with open_lake(tmp_path / "lake") as lake:
        details = [
            r["detail"]
            for r in lake.sql(
                "SELECT detail FROM verifications WHERE status <> 'verified'"
            ).to_pylist()
        ]
        runs = lake.sql("SELECT count(*) AS n FROM runs").to_pylist()[0]["n"]
    assert runs == 1
    not_read = [d for d in details if "not read" in d]
    assert len(not_read) == 10, details  # 8 x 128 KiB hold the envelope and 10 of 100 KiB


# -- an SBOM of millions of empty components ------------------------------------------------------
@pytest.mark.attack("crash")
def test_an_sbom_of_empty_components_explodes_into_a_bounded_number_of_rows(
    tmp_path: Path,
) -> None:
    """Three bytes of ``{}`` became a row of hundreds of bytes in memory: a 32 MB SBOM, one
    document, would take gigabytes to crawl."""
    components = 3 * MAX_COMPONENTS
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bom.json").write_bytes(
        b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": ['
        + b",".join([b"{}"] * components)
        + b"]}"
    )
    (tmp_path / "in" / "small.json").write_bytes(
        b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "a"}]}'
    )
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    started = time.monotonic()

    source = FileSource(tmp_path / "in")
    result = crawl(source, tmp_path / "lake", load_policy(tmp_path / "trust.yaml"), jobs=1)

    assert time.monotonic() - started < 60
    assert result.documents == 2, result
    with open_lake(tmp_path / "lake") as lake:
        counts = lake.sql(
            "SELECT source, count(*) AS n FROM sbom_components GROUP BY source ORDER BY source"
        ).to_pylist()
    assert [(Path(c["source"]).name, c["n"]) for c in counts] == [
        ("bom.json", MAX_COMPONENTS),
        ("small.json", 1),
    ]


# -- a tag list of millions of names --------------------------------------------------------------
class ManyTags:
    """An HTTP server on 127.0.0.1 whose tag list and referrers have ``pages`` pages of
    ``per_page`` new names each (within the page-size bound)."""

    def __init__(self, pages: int, per_page: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                page = int(self.path.rpartition("page=")[2]) if "page=" in self.path else 0
                path = self.path.split("?")[0]
                body: dict[str, Any] = {
                    "name": "hostile/repo",
                    "tags": [f"p{page}-{n}" for n in range(per_page)],
                }
                if "/referrers/" in path:
                    body = {
                        "schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [
                            {
                                "mediaType": MANIFEST_MEDIA_TYPE,
                                "digest": f"sha256:{page:032x}{n:032x}",
                                "size": 2,
                            }
                            for n in range(per_page)
                        ],
                    }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if page + 1 < pages:
                    nxt = f"{path}?n=100&page={page + 1}"
                    self.send_header("Link", f'<{nxt}>; rel="next"')
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ManyTags:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.mark.attack("crash")
def test_a_tag_list_of_millions_of_names_stops_at_its_bound_with_a_warning() -> None:
    """Each page is small enough, but ten thousand of them would hold billions of names, each
    kept in memory and each asked for by a crawl."""
    with ManyTags(pages=8, per_page=200_000) as server:
        store = RegistryStore(server.url, "hostile/repo", retries=0)
        count = sum(1 for _ in store.tags())
        store.close()

    assert count == MAX_NAMES
    warnings = store.warnings()
    assert len(warnings) == 1 and f"over {MAX_NAMES} names" in warnings[0], warnings


# -- repository names a registry accepts and attestlake did not -----------------------------------
def _copy(registry: RegistryServer, manifest: Manifest, source: str, target: str) -> None:
    """Copy ``manifest`` from repository ``source`` to ``target`` over plain HTTP (blob mounts
    and a manifest PUT), as any client of the registry may."""
    base = f"{registry.url}/v2/{target}"
    for desc in (manifest.config, *manifest.layers):
        url = f"{base}/blobs/uploads/?mount={desc.digest}&from={source}"
        assert requests.post(url, timeout=30).status_code == 201
    headers = {"Content-Type": MANIFEST_MEDIA_TYPE}
    put = requests.put(f"{base}/manifests/run", data=manifest.raw, headers=headers, timeout=30)
    assert put.status_code == 201, put.text


@pytest.mark.attack("crash")
@pytest.mark.registry
def test_repositories_named_with_double_separators_are_crawled_and_stop_nothing(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """``a--b`` and ``a__b`` are valid repository names (OCI distribution spec): one of them in
    the catalog stopped the crawl of every repository."""
    signer = make_signer(tmp_path / "keys")
    good = RegistryStore(registry.url, "rtnames/good")
    manifest = push(good, [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(5)))], tag="run")
    for name in ("rtnames/a--b", "rtnames/a__b", "rtnames/z.z"):
        _copy(registry, manifest, "rtnames/good", name)
    source = CatalogSource(registry.url, prefix="rtnames/")

    result = crawl(source, tmp_path / "lake", load_policy(signer.trust), jobs=1)

    assert (result.ingested, result.documents_verified) == (1, 1), result
    assert not result.warnings, result.warnings
    with open_lake(tmp_path / "lake") as lake:
        sources = lake.sql("SELECT source FROM verifications ORDER BY source").to_pylist()
    assert len(sources) == 1, sources


class Listing:
    """An HTTP server on 127.0.0.1 that answers the JSON ``routes`` give for a path (404 with
    an empty body for any other), and 404 to every HEAD."""

    def __init__(self, routes: dict[str, Any]) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(404 if body is None else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(routes.get(self.path.split("?")[0]))

            def do_HEAD(self) -> None:
                self._answer(None)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Listing:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


BAD_NAMES = ["../../etc", "UPPER/case", "x" * 5000, "a//b"]


@pytest.mark.attack("crash")
def test_names_no_repository_or_tag_can_have_are_skipped_with_a_warning(tmp_path: Path) -> None:
    """A registry lists names it could never serve: each is a short warning, the crawl goes on
    with the others."""
    routes = {
        "/v2/": {},
        "/v2/_catalog": {"repositories": [*BAD_NAMES, "ok/repo"]},
        "/v2/ok/repo/tags/list": {"name": "ok/repo", "tags": [*BAD_NAMES, "latest"]},
    }
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    with Listing(routes) as server:
        source = CatalogSource(server.url)  # its one readable name has no manifest: empty
        policy = load_policy(tmp_path / "trust.yaml")
        result = crawl(source, tmp_path / "lake", policy, jobs=1, allow_empty=True)
        source.close()

    assert result.documents == 0
    skipped = [w for w in result.warnings if "skipped a name" in w]
    assert len(skipped) == 2 * len(BAD_NAMES), result.warnings
    assert all(len(w) < 300 for w in result.warnings), result.warnings


# -- an OCI layout whose index.json has a bad entry -----------------------------------------------
@pytest.mark.attack("crash")
def test_an_index_json_entry_without_a_digest_is_skipped_and_the_others_are_crawled(
    tmp_path: Path,
) -> None:
    signer = make_signer(tmp_path / "keys")
    store = LayoutStore(tmp_path / "store")
    push(store, [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(1)))], tag="good")
    index = json.loads((tmp_path / "store" / "index.json").read_text())
    name = "org.opencontainers.image.ref.name"
    index["manifests"][:0] = [
        {"digest": "sha256:../../etc/passwd", "annotations": {name: "evil"}},
        {"digest": ["sha256:" + "0" * 64], "annotations": {name: "evil-list"}},
        {"annotations": {name: "no-digest"}},
    ]
    (tmp_path / "store" / "index.json").write_text(json.dumps(index))

    result = crawl(store, tmp_path / "lake", load_policy(signer.trust), jobs=1)

    assert (result.documents, result.documents_verified) == (1, 1), result
    skipped = [w for w in result.warnings if "has no sha256 digest: skipped" in w]
    assert len(skipped) == 3, result.warnings


# -- redirects ------------------------------------------------------------------------------------
class Redirecting:
    """An HTTP server on 127.0.0.1 that answers every GET with a 307 to ``target`` + the path
    (itself when ``target`` is empty: a loop), and records the Authorization headers it got."""

    def __init__(self, target: str = "") -> None:
        self.authorizations: list[str | None] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.authorizations.append(self.headers.get("Authorization"))
                self.send_response(307)
                self.send_header("Location", f"{target or owner.url}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Redirecting:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.mark.attack("secret")
def test_credentials_never_follow_a_redirect_to_another_host() -> None:
    with Redirecting() as loop, Redirecting(loop.url.replace("127.0.0.1", "localhost")) as reg:
        store = RegistryStore(reg.url, "r/x", username="u", password="s3cret-pw", retries=0)
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            store.get_blob(DIGEST)
        store.close()

    assert time.monotonic() - started < 10
    assert "s3cret-pw" not in str(caught.value)
    assert reg.authorizations and all(a and a.startswith("Basic ") for a in reg.authorizations)
    assert loop.authorizations and not any(loop.authorizations), loop.authorizations


@pytest.mark.attack("crash")
def test_referrers_of_one_manifest_stop_at_the_names_bound_with_a_warning() -> None:
    with ManyTags(pages=10, per_page=300) as server:
        store = RegistryStore(server.url, "hostile/repo", retries=0)
        store.max_names = 1000
        referrers = store.referrers(DIGEST)
        store.close()

    assert len(referrers) == 1000
    warnings = store.warnings()
    assert len(warnings) == 1 and "over 1000 names" in warnings[0], warnings


@pytest.mark.attack("crash")
def test_a_deeply_nested_trust_policy_is_a_clear_error(tmp_path: Path) -> None:
    policy = tmp_path / "trust.yaml"
    policy.write_text("keys: " + "[" * 100_000 + "]" * 100_000 + "\n")

    with pytest.raises(TrustPolicyError, match="nested deeper than"):
        load_policy(policy)


@pytest.mark.attack("crash")
@pytest.mark.parametrize("command", ["contract", "inventory"])
def test_a_fifo_named_as_a_contract_or_inventory_is_a_clear_error(
    tmp_path: Path, command: str
) -> None:
    """Every file the user names is read through one reader: regular files only, no hang."""
    fifo = tmp_path / f"{command}.yaml"
    os.mkfifo(fifo)

    result = run_cli(tmp_path, command, "lint", str(fifo))

    assert result.code == 1, result.err
    assert "not a regular file" in result.err and "Traceback" not in result.err
