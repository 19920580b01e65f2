"""How a crawl reads a real ``docker-registry`` (through a counting proxy): each manifest once,
by its tag, with no HEAD request; one kept-alive connection per thread; fewer requests at
once when the registry says it is overloaded, and nothing lost."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from attestlake.collect.collector import Attestation
from attestlake.collect.push import PushResult
from attestlake.contracts.contracts import load_contract
from attestlake.crawl.crawl import crawl
from attestlake.crawl.sources.store import StoreSource
from attestlake.signing.keys import KeySigner, generate_key
from attestlake.store.registry import RegistryStore
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy
from tests.integration.registry_server import RegistryServer
from tests.lakefactory import contract_yaml, cyclonedx_sbom, github_env, image_ref
from tests.security.fault_proxy import FaultProxy

pytestmark = pytest.mark.registry

REPO = "fetching/runs"
RUNS = 12
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Pushed:
    policy: TrustPolicy
    runs: tuple[PushResult, ...]


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    root = tmp_path_factory.mktemp("fetching")
    private, public = generate_key()
    (root / "ci.key").write_bytes(private)
    (root / "ci.pub").write_bytes(public)
    (root / "trust.yaml").write_text("keys:\n  - path: ci.pub\n", encoding="utf-8")
    (root / "contract.yaml").write_text(
        contract_yaml("build", 1, [("CONTAINER_IMAGE", "image"), ("SBOM_CYCLONEDX_JSON", "sbom")]),
        encoding="utf-8",
    )
    contract = load_contract(root / "contract.yaml")
    signer = KeySigner.from_file(root / "ci.key")
    store = RegistryStore(registry.url, REPO)
    runs = []
    try:
        for n in range(RUNS):
            started = NOW - timedelta(hours=n)
            att = Attestation.init(
                contract,
                workflow="build",
                project="skynet",
                env=github_env("skynet", n),
                now=started,
                run_id=f"fetching-{n}",
            )
            att.add("image", image_ref(f"skynet-{n}"))
            att.add("sbom", cyclonedx_sbom(root / f"sbom-{n}.json", f"skynet-{n}", 3))
            runs.append(att.push(signer, store, now=started + timedelta(minutes=5)))
    finally:
        store.close()
    return Pushed(load_policy(root / "trust.yaml"), tuple(runs))


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host) as fault_proxy:
        yield fault_proxy


def _requests(proxy: FaultProxy) -> Counter[tuple[str, str]]:
    """(method, what) of every request the proxy saw: what is the last path segment's kind."""
    counts: Counter[tuple[str, str]] = Counter()
    for method, path, _ in proxy.log:
        kind = next((k for k in ("manifests", "blobs", "tags", "referrers") if k in path), path)
        counts[method, kind] += 1
    return counts


def test_a_crawl_reads_each_manifest_once_by_its_tag_and_sends_no_head(
    pushed: Pushed, proxy: FaultProxy, tmp_path: Path
) -> None:
    store = RegistryStore(proxy.url, REPO)
    try:
        result = crawl(StoreSource(store), tmp_path / "lake", pushed.policy, now=NOW, jobs=1)
    finally:
        store.close()
    assert (result.verified, result.not_verified, result.warnings) == (RUNS, 0, ())
    requests = _requests(proxy)
    assert [key for key in requests if key[0] == "HEAD"] == []
    by_tag = {path.rsplit("/", 1)[1] for method, path, _ in proxy.log if "/manifests/" in path}
    assert by_tag == {run.tag for run in pushed.runs}  # by tag, never by digest again
    assert requests["GET", "manifests"] == RUNS
    assert requests["GET", "blobs"] == 2 * RUNS  # the envelope and the SBOM of each run


def test_each_thread_keeps_one_connection_alive_across_its_requests(
    pushed: Pushed, registry: RegistryServer
) -> None:
    store = RegistryStore(registry.url, REPO)
    blobs = [run.envelope_digest for run in pushed.runs]

    def read() -> None:
        for digest in blobs:
            store.get_blob(digest)
            store.get_any_manifest(pushed.runs[0].tag)

    try:
        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        opened = [
            pool.num_connections
            for session in store._sessions
            for pool in session.get_adapter(registry.url).poolmanager.pools._container.values()
        ]
    finally:
        store.close()
    assert opened == [1, 1, 1, 1]  # 4 threads, 4 sessions, 2 * RUNS requests on each connection


def test_a_registry_that_throttles_gets_fewer_requests_at_once_and_loses_nothing(
    pushed: Pushed, proxy: FaultProxy, tmp_path: Path
) -> None:
    store = RegistryStore(proxy.url, REPO, timeout=5.0)
    first = store.pace.limit
    proxy.inject("throttle", r"/tags/list", count=1, retry_after=0)  # the crawl's first request
    try:
        result = crawl(StoreSource(store), tmp_path / "lake", pushed.policy, now=NOW, jobs=1)
    finally:
        store.close()
    assert proxy.injected("throttle") == 1
    assert (result.verified, result.not_verified, result.warnings) == (RUNS, 0, ())
    assert (store.pace.backoffs, store.pace.lowest) == (1, first // 2)
