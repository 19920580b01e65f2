"""RegistryStore against a real CNCF distribution registry (no mocks)."""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from attestlake.errors import ContentError, NotFound, StoreError, TransportError
from attestlake.store import open_store
from attestlake.store.oci import (
    EMPTY_CONFIG,
    EMPTY_JSON,
    MANIFEST_MEDIA_TYPE,
    Descriptor,
    Manifest,
    sha256_digest,
)
from attestlake.store.registry import RegistryStore

try:  # tests/ is not a package: pytest put this directory on sys.path
    from registry_server import RegistryServer, free_port
except ImportError:  # tests/ became a package
    from tests.integration.registry_server import RegistryServer, free_port

pytestmark = pytest.mark.registry

ARTIFACT_TYPE = "application/vnd.attestlake.test.v1"
LAYER_TYPE = "application/vnd.in-toto+json"


def _repo(prefix: str = "test") -> str:
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(registry) -> Iterator[RegistryStore]:
    s = RegistryStore(registry.url, _repo(), retries=1)
    yield s
    s.close()


def _manifest(store: RegistryStore, payload: bytes, **kwargs) -> Manifest:
    store.put_blob(EMPTY_JSON, EMPTY_CONFIG.media_type)
    layer = store.put_blob(payload, LAYER_TYPE)
    return Manifest.build(
        artifact_type=ARTIFACT_TYPE,
        layers=[layer],
        annotations={"org.example.note": payload.decode(errors="replace")[:40]},
        **kwargs,
    )


# -- blobs ----------------------------------------------------------------------------------
def test_blob_round_trip_and_idempotent_put(store: RegistryStore) -> None:
    data = b'{"_type":"https://in-toto.io/Statement/v1"}'
    digest = sha256_digest(data)
    assert not store.has_blob(digest)
    desc = store.put_blob(data, LAYER_TYPE)
    assert desc == Descriptor(LAYER_TYPE, digest, len(data))
    assert store.has_blob(digest)
    assert store.get_blob(digest) == data
    assert store.put_blob(data, LAYER_TYPE) == desc  # already there: no second upload
    assert store.get_blob(digest) == data


def test_empty_blob(store: RegistryStore) -> None:
    desc = store.put_blob(b"")
    assert desc.size == 0
    assert store.get_blob(desc.digest) == b""


def test_get_blob_size_bound(store: RegistryStore) -> None:
    data = b"x" * 1000
    desc = store.put_blob(data)
    with pytest.raises(ContentError, match="over the 999-byte bound"):
        store.get_blob(desc.digest, max_size=999)
    assert store.get_blob(desc.digest, max_size=1000) == data
    small = RegistryStore(store.base_url, store.repository, max_blob_size=10)
    with pytest.raises(ContentError, match="bound"):
        small.get_blob(desc.digest)


def test_get_blob_verifies_digest(registry, store: RegistryStore) -> None:
    data = b"the real content"
    digest = store.put_blob(data).digest
    # Ask for the blob under a digest it does not have: the registry refuses to store it, so
    # corrupt the stored bytes on disk instead (the registry serves whatever the file holds).
    data_dir = registry.workdir / "data"
    hexdigest = digest.split(":", 1)[1]
    [blob_file] = [p for p in data_dir.rglob("data") if p.parent.name == hexdigest]
    blob_file.write_bytes(b"the fake content")
    # Damage on the way and damage in the registry look the same: fetched again, then a
    # TransportError (not a ContentError: the crawler must not record the blob as malformed).
    with pytest.raises(TransportError, match="digest mismatch") as raised:
        store.get_blob(digest)
    assert not isinstance(raised.value, ContentError)
    assert "did not arrive intact" in str(raised.value)


def test_unknown_blob_is_not_found(store: RegistryStore) -> None:
    digest = sha256_digest(b"never pushed")
    assert not store.has_blob(digest)
    with pytest.raises(NotFound, match=digest):
        store.get_blob(digest)


def test_bad_digest_is_refused_before_any_request(store: RegistryStore) -> None:
    with pytest.raises(ContentError):
        store.get_blob("sha256:../../etc/passwd")
    with pytest.raises(ContentError):
        store.get_manifest("../_catalog")


# -- manifests ------------------------------------------------------------------------------
def test_manifest_by_tag_and_digest_keeps_exact_bytes(store: RegistryStore) -> None:
    manifest = _manifest(store, b'{"predicate":{"a":1}}')
    desc = store.put_manifest(manifest, "v1")
    assert desc.digest == manifest.digest == sha256_digest(manifest.raw)
    assert desc.media_type == MANIFEST_MEDIA_TYPE
    by_tag = store.get_manifest("v1")
    by_digest = store.get_manifest(manifest.digest)
    assert by_tag.raw == by_digest.raw == manifest.raw
    assert by_tag == manifest
    assert by_digest.artifact_type == ARTIFACT_TYPE
    assert by_digest.layers == manifest.layers
    assert store.resolve("v1") == manifest.digest


def test_untagged_manifest_by_digest(store: RegistryStore) -> None:
    manifest = _manifest(store, b"untagged")
    store.put_manifest(manifest)
    assert store.get_manifest(manifest.digest).raw == manifest.raw
    assert list(store.tags()) == []


def test_retag_moves_tag(store: RegistryStore) -> None:
    first, second = _manifest(store, b"one"), _manifest(store, b"two")
    store.put_manifest(first, "latest")
    store.put_manifest(second, "latest")
    assert store.resolve("latest") == second.digest
    assert store.get_manifest(first.digest).raw == first.raw  # still there by digest


def test_manifest_with_missing_blob_names_the_blob(store: RegistryStore) -> None:
    store.put_blob(EMPTY_JSON, EMPTY_CONFIG.media_type)
    missing = Descriptor.for_bytes(LAYER_TYPE, b"never pushed layer")
    manifest = Manifest.build(artifact_type=ARTIFACT_TYPE, layers=[missing], annotations={})
    with pytest.raises(StoreError) as info:
        store.put_manifest(manifest, "broken")
    assert missing.digest in str(info.value)
    assert "push every blob before the manifest" in str(info.value)
    assert EMPTY_CONFIG.digest not in str(info.value)  # only the missing one
    assert not isinstance(info.value, NotFound)
    with pytest.raises(NotFound):
        store.resolve("broken")


def test_manifest_with_subject_is_accepted(store: RegistryStore) -> None:
    subject = _manifest(store, b"the subject")
    store.put_manifest(subject, "subject")
    referrer = _manifest(store, b"the referrer", subject=subject.descriptor())
    store.put_manifest(referrer)
    got = store.get_manifest(referrer.digest)
    assert got.raw == referrer.raw
    assert got.subject is not None and got.subject.digest == subject.digest


def test_image_index_is_refused_by_the_parser(store: RegistryStore) -> None:
    manifest = _manifest(store, b"child")
    store.put_manifest(manifest)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [manifest.descriptor().to_json()],
        }
    ).encode()
    resp = store._session.put(
        f"{store.base_url}/v2/{store.repository}/manifests/idx",
        data=index,
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
    )
    assert resp.status_code == 201
    with pytest.raises(ContentError, match="not an image manifest"):
        store.get_manifest("idx")
    assert store.resolve("idx") == sha256_digest(index)


def test_unknown_tag_and_manifest_are_not_found(store: RegistryStore) -> None:
    store.put_manifest(_manifest(store, b"something"), "exists")
    with pytest.raises(NotFound, match="nope"):
        store.resolve("nope")
    with pytest.raises(NotFound):
        store.get_manifest("nope")
    with pytest.raises(NotFound):
        store.get_manifest(sha256_digest(b"no such manifest"))


# -- tags, catalog --------------------------------------------------------------------------
def _count_requests(store: RegistryStore, monkeypatch: pytest.MonkeyPatch, part: str) -> list[str]:
    urls: list[str] = []
    original = store._send

    def counting_send(method, url, **kwargs):
        if part in url:
            urls.append(url)
        return original(method, url, **kwargs)

    monkeypatch.setattr(store, "_send", counting_send)
    return urls


def test_tags_with_small_page_size(store: RegistryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # distribution 2.8 ignores n/last on tags/list and sends every tag in one unordered page;
    # the Link-following code is exercised against /v2/_catalog in test_catalog_paginates.
    manifest = _manifest(store, b"many tags")
    names = {f"t{i:02d}" for i in range(12)}
    for name in names:
        store.put_manifest(manifest, name)
    monkeypatch.setattr(store, "page_size", 5)
    urls = _count_requests(store, monkeypatch, "/tags/list")
    listed = list(store.tags())
    assert sorted(listed) == sorted(names)  # every tag exactly once
    assert urls and all("n=5" in url for url in urls)


def test_tags_of_unknown_repository_is_empty(registry) -> None:
    assert list(RegistryStore(registry.url, _repo("nothing-here")).tags()) == []


def test_tags_of_repository_with_blobs_only_is_empty(store: RegistryStore) -> None:
    store.put_blob(b"only a blob")
    assert list(store.tags()) == []


def test_catalog_paginates(registry, store: RegistryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put_manifest(_manifest(store, b"catalogued"), "c")
    others = [RegistryStore(registry.url, _repo("cat")) for _ in range(5)]
    for other in others:
        other.put_blob(b"x")
    monkeypatch.setattr(store, "page_size", 2)
    urls = _count_requests(store, monkeypatch, "/_catalog")
    repos = list(store.catalog())
    assert len(repos) == len(set(repos))  # no repository twice across pages
    assert {store.repository, *(o.repository for o in others)} <= set(repos)
    assert len(urls) >= 3  # followed the Link header
    assert any("last=" in url for url in urls)


# -- failures -------------------------------------------------------------------------------
def test_unreachable_registry(unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    store = RegistryStore(url, "some/repo", retries=1, timeout=2)
    with pytest.raises(StoreError) as info:
        store.has_blob(sha256_digest(b"x"))
    message = str(info.value)
    assert f"{url}/" in message
    assert "connection refused" in message
    assert "is it running" in message
    assert "2 attempts" in message  # retries=1: one retry
    with pytest.raises(StoreError, match="cannot reach registry"):
        list(store.tags())


@pytest.fixture
def unused_tcp_port() -> int:
    return free_port()


# -- auth -----------------------------------------------------------------------------------
def test_basic_auth_with_env_credentials(
    registry_basic_auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTESTLAKE_REGISTRY_USERNAME", registry_basic_auth.username)
    monkeypatch.setenv("ATTESTLAKE_REGISTRY_PASSWORD", registry_basic_auth.password)
    store = open_store(f"{registry_basic_auth.host}/{_repo('auth')}")
    assert isinstance(store, RegistryStore)
    assert store.ref.startswith("http://127.0.0.1:")
    manifest = _manifest(store, b"authenticated")
    store.put_manifest(manifest, "v1")
    assert store.get_manifest("v1").raw == manifest.raw
    assert list(store.tags()) == ["v1"]
    assert registry_basic_auth.password not in repr(store)
    assert registry_basic_auth.password not in str(vars(store).get("ref"))


@pytest.mark.parametrize("credentials", ["wrong", "missing"])
def test_basic_auth_refused(
    registry_basic_auth, monkeypatch: pytest.MonkeyPatch, credentials: str
) -> None:
    wrong_password = "not-the-Secret-42"
    if credentials == "wrong":
        monkeypatch.setenv("ATTESTLAKE_REGISTRY_USERNAME", registry_basic_auth.username)
        monkeypatch.setenv("ATTESTLAKE_REGISTRY_PASSWORD", wrong_password)
    else:
        monkeypatch.delenv("ATTESTLAKE_REGISTRY_USERNAME", raising=False)
        monkeypatch.delenv("ATTESTLAKE_REGISTRY_PASSWORD", raising=False)
    store = open_store(f"{registry_basic_auth.host}/{_repo('auth')}")
    for action in (
        lambda: store.put_blob(b"data"),
        lambda: store.get_blob(sha256_digest(b"data")),
        lambda: list(store.tags()),
        lambda: store.resolve("v1"),
    ):
        with pytest.raises(StoreError) as info:
            action()
        message = str(info.value)
        assert not isinstance(info.value, NotFound)
        assert "ATTESTLAKE_REGISTRY_USERNAME" in message
        assert "ATTESTLAKE_REGISTRY_PASSWORD" in message
        assert registry_basic_auth.url in message
        assert wrong_password not in message
        assert registry_basic_auth.password not in message
    assert wrong_password not in repr(store)


def test_password_never_in_repr_or_errors(registry_basic_auth) -> None:
    password = registry_basic_auth.password
    store = RegistryStore(
        registry_basic_auth.url, _repo("auth"), username="someone", password=password
    )
    assert password not in repr(store)
    with pytest.raises(StoreError) as info:
        store.put_blob(b"data")
    assert password not in str(info.value)
    assert "'someone'" in str(info.value)


# -- Bearer token auth (registry with `auth: token`, a small real token server) -------------
class _TokenServer:
    """Issues ES256 JWTs the registry verifies against a self-signed certificate."""

    def __init__(self, workdir: Path, username: str, password: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attestlake test tokens")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = workdir / "token-root.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.credentials = f"{username}:{password}"
        self.requests: list[dict[str, list[str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                server.requests.append(query)
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(server.credentials.encode()).decode()
                if auth != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": server.token(query), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def token(self, query: dict[str, list[str]]) -> str:
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": "attestlake-test-issuer",
            "sub": "attest-user",
            "aud": query.get("service", [""])[0],
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        der_cert = self.cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der_cert).decode()]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{_b64url(signature)}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def token_registry(registry, tmp_path_factory: pytest.TempPathFactory):
    """A registry that wants Bearer tokens from a token server with basic auth.

    Depends on ``registry`` only for its skip/fail rule when docker-registry is missing.
    """
    workdir = tmp_path_factory.mktemp("token-registry")
    tokens = _TokenServer(workdir, "token-user", "token-Pa55word")
    auth = {
        "token": {
            "realm": tokens.realm,
            "service": "attestlake-test-registry",
            "issuer": "attestlake-test-issuer",
            "rootcertbundle": str(tokens.bundle),
        }
    }
    server = RegistryServer(workdir, extra_config={"auth": auth})
    try:
        server.start()
        yield server, tokens
    finally:
        server.stop()
        tokens.stop()


def test_bearer_token_challenge(token_registry) -> None:
    server, tokens = token_registry
    tokens.requests.clear()
    repo = _repo("bearer")
    store = RegistryStore(server.url, repo, username="token-user", password="token-Pa55word")
    manifest = _manifest(store, b"behind a token")
    store.put_manifest(manifest, "v1")
    assert store.get_manifest("v1").raw == manifest.raw
    assert store.resolve("v1") == manifest.digest
    assert list(store.tags()) == ["v1"]
    assert len(tokens.requests) == 1  # one pull,push token serves every later request
    assert tokens.requests[0]["scope"][0] == f"repository:{repo}:pull,push"
    assert tokens.requests[0]["service"] == ["attestlake-test-registry"]
    assert repo in list(store.catalog())  # the catalog challenge asks for a wider scope
    assert "registry:catalog:*" in tokens.requests[-1]["scope"]


def test_bearer_token_refused(token_registry) -> None:
    server, tokens = token_registry
    store = RegistryStore(server.url, _repo("bearer"), username="token-user", password="wrong-pw-1")
    with pytest.raises(StoreError) as info:
        store.put_blob(b"data")
    message = str(info.value)
    assert "ATTESTLAKE_REGISTRY_USERNAME" in message
    assert tokens.realm in message
    assert "wrong-pw-1" not in message
    anonymous = RegistryStore(server.url, _repo("bearer"))
    with pytest.raises(StoreError, match="without credentials"):
        anonymous.has_blob(sha256_digest(b"data"))
