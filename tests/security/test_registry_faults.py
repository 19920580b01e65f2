"""Registry faults on the way to the crawler: real signed runs in a real ``docker-registry``,
crawled through :class:`FaultProxy`. A transient fault (5xx, 429, a dropped connection, a slow
answer, one damaged or cut-short body) loses nothing: the crawl ends with the rows a direct
crawl writes. A body that never arrives intact skips its run with a warning and records
nothing, so the next crawl reads it. Endless pagination ends the crawl in seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import attestlake
from attestlake.collect.collector import Attestation
from attestlake.collect.push import PushResult
from attestlake.contracts.contracts import load_contract
from attestlake.crawl.crawl import CrawlResult, crawl
from attestlake.crawl.sources.store import StoreSource
from attestlake.lake.tables import TABLES
from attestlake.signing.keys import KeySigner, generate_key
from attestlake.store.registry import RegistryStore
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy
from tests.integration.registry_server import RegistryServer
from tests.lakefactory import contract_yaml, cyclonedx_sbom, github_env, image_ref
from tests.security.conftest import Hang
from tests.security.fault_proxy import FaultProxy

pytestmark = pytest.mark.registry

REPO = "faults/runs"
RUNS = 3
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
#: A crawl that takes longer than this through an endlessly paginating registry has hung.
PAGINATION_LIMIT = 30


@dataclass(frozen=True)
class Pushed:
    """Runs pushed straight to the registry, and the lake a direct crawl makes of them."""

    root: Path
    trust: Path
    policy: TrustPolicy
    runs: tuple[PushResult, ...]
    direct: dict[str, Any]

    @property
    def blobs(self) -> dict[str, str]:
        """Path regexes of what one run's crawl reads: its manifest (by its tag, as the
        listing fetches it), envelope and SBOM."""
        run = self.runs[1]
        sbom = next(b for b in run.blobs if b not in (run.envelope_digest, run.provenance_digest))
        return {
            "manifest": f"/manifests/{run.tag}$",
            "envelope": f"/blobs/{run.envelope_digest}",
            "evidence": f"/blobs/{sbom}",
        }


def lake_contents(lake: Path) -> dict[str, Any]:
    """Row counts of every table, and who was verified: what a user compares two lakes by."""
    view = attestlake.open_lake(lake)
    counts = {
        t.name: view.sql(f"SELECT count(*) AS n FROM {t.name}").column("n")[0].as_py()
        for t in TABLES
    }
    rows = view.sql(
        "SELECT manifest_digest, envelope_digest, status, reason FROM verifications ORDER BY ALL"
    ).to_pylist()
    runs = view.sql("SELECT run_id FROM runs ORDER BY ALL").column("run_id").to_pylist()
    return {"counts": counts, "verifications": rows, "runs": runs}


def crawl_through(
    base_url: str, lake: Path, policy: TrustPolicy, *, timeout: float = 30.0
) -> CrawlResult:
    store = RegistryStore(base_url, REPO, timeout=timeout)
    try:
        return crawl(StoreSource(store), lake, policy, now=NOW, jobs=1)
    finally:
        store.close()


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    root = tmp_path_factory.mktemp("faults")
    private, public = generate_key()
    (root / "ci.key").write_bytes(private)
    (root / "ci.pub").write_bytes(public)
    trust = root / "trust.yaml"
    trust.write_text("keys:\n  - path: ci.pub\n", encoding="utf-8")
    (root / "contract.yaml").write_text(
        contract_yaml(
            "build",
            1,
            [("CONTAINER_IMAGE", "image"), ("SBOM_CYCLONEDX_JSON", "sbom")],
            outputs=["image"],
        ),
        encoding="utf-8",
    )
    contract = load_contract(root / "contract.yaml")
    signer = KeySigner.from_file(root / "ci.key")
    store = RegistryStore(registry.url, REPO)
    runs = []
    try:
        for n in range(RUNS):
            started = NOW - timedelta(days=1, hours=n)
            att = Attestation.init(
                contract,
                workflow="build",
                project="skynet",
                team="ai",
                env=github_env("skynet", n),
                now=started,
                run_id=f"faults-{n}",
            )
            att.add("image", image_ref(f"skynet-{n}"))
            att.add("sbom", cyclonedx_sbom(root / f"sbom-{n}.json", f"skynet-{n}", 3))
            runs.append(att.push(signer, store, now=started + timedelta(minutes=5)))
    finally:
        store.close()
    policy = load_policy(trust)
    direct = crawl_through(registry.url, root / "direct-lake", policy)
    assert direct.verified == RUNS and not direct.warnings, direct.describe()
    contents = lake_contents(root / "direct-lake")
    return Pushed(root, trust, policy, tuple(runs), contents)


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host) as fault_proxy:
        yield fault_proxy


def crawl_cli(cwd: Path, *args: str, limit: float = 120) -> subprocess.CompletedProcess[str]:
    """The real ``attestlake`` CLI; a crawl still running after ``limit`` seconds is a hang."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
    }
    try:
        return subprocess.run(
            [sys.executable, "-m", "attestlake._cli", "crawl", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        raise Hang(f"attestlake crawl {' '.join(args)} still running after {limit} s") from None


# -- transient faults: nothing lost ----------------------------------------------------------
TRANSIENT = {
    "503 on manifests": ("status", r"/manifests/", {"count": 3, "status": 503}),
    "502 on blobs": ("status", r"/blobs/", {"count": 3, "status": 502}),
    "504 on the tag list": ("status", r"/tags/list", {"count": 2, "status": 504}),
    "429 with Retry-After": ("throttle", r"/(blobs|manifests)/", {"count": 3, "retry_after": 1}),
    "dropped connections": ("drop", r"/(blobs|manifests)/", {"count": 3}),
    "dropped tag list": ("drop", r"/tags/list", {"count": 1}),
    "slow answers": ("slow", r"/(blobs|manifests)/", {"count": None, "delay": 0.05}),
    "an answer slower than the timeout": ("slow", r"/blobs/", {"count": 1, "delay": 2.5}),
}


@pytest.mark.attack("loss")
@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_transient_registry_faults_lose_no_record(
    fault: str, pushed: Pushed, proxy: FaultProxy, tmp_path: Path
) -> None:
    kind, path, options = TRANSIENT[fault]
    proxy.inject(kind, path, **options)
    result = crawl_through(proxy.url, tmp_path / "lake", pushed.policy, timeout=1.5)
    assert proxy.injected(kind) >= 1
    assert result.warnings == ()
    assert (result.ingested, result.verified, result.not_verified) == (RUNS, RUNS, 0)
    assert lake_contents(tmp_path / "lake") == pushed.direct


# -- a body damaged once: read again, nothing recorded malformed ------------------------------
@pytest.mark.attack("loss")
@pytest.mark.parametrize("damage", ["flip", "truncate"])
@pytest.mark.parametrize("target", ["manifest", "envelope", "evidence"])
def test_a_body_damaged_once_is_read_again_and_its_run_is_in_the_lake(
    damage: str, target: str, pushed: Pushed, proxy: FaultProxy, tmp_path: Path
) -> None:
    path = pushed.blobs[target]
    proxy.inject(damage, path, count=1, method="GET")
    result = crawl_through(proxy.url, tmp_path / "lake", pushed.policy)
    assert proxy.injected(damage) == 1
    assert proxy.requests(path) == 2  # the damaged read, then one good one
    assert result.warnings == ()
    assert (result.verified, result.not_verified, result.reasons) == (RUNS, 0, {})
    assert lake_contents(tmp_path / "lake") == pushed.direct


# -- a body that never arrives intact: skipped, reported, read by the next crawl -------------
@pytest.mark.attack("loss")
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_body_damaged_every_time_skips_its_run_until_a_crawl_reads_it_intact(
    damage: str, pushed: Pushed, proxy: FaultProxy, tmp_path: Path
) -> None:
    run = pushed.runs[1]
    proxy.inject(damage, f"/blobs/{run.envelope_digest}", count=None, method="GET")
    lake = tmp_path / "lake"
    trust = str(pushed.trust)
    first = crawl_cli(
        tmp_path, "--from", f"{proxy.host}/{REPO}", "--lake", str(lake), "--trust", trust
    )
    # Documented: a unit skipped because the store failed is a warning; the crawl exits 0.
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    warnings = [line for line in first.stdout.splitlines() if "warning:" in line]
    assert len(warnings) == 1, first.stdout
    assert run.envelope_digest in warnings[0] and "skipped" in warnings[0]
    assert "did not arrive intact" in warnings[0]
    assert f"{RUNS - 1} new: {RUNS - 1} verified, 0 not verified" in first.stdout
    partial = lake_contents(lake)
    assert run.manifest_digest not in {r["manifest_digest"] for r in partial["verifications"]}
    assert partial["runs"] == [r for r in pushed.direct["runs"] if r != "faults-1"]

    proxy.clear()
    second = crawl_cli(
        tmp_path, "--from", f"{proxy.host}/{REPO}", "--lake", str(lake), "--trust", trust
    )
    assert second.returncode == 0, second.stderr
    assert f"{RUNS - 1} already in the lake, 1 new: 1 verified" in second.stdout, second.stdout
    assert "warning" not in second.stdout
    final = lake_contents(lake)
    # one journal row per crawl; every other table as the direct crawl wrote it
    assert {**final["counts"], "crawls": 0} == {**pushed.direct["counts"], "crawls": 0}
    assert final["verifications"] == pushed.direct["verifications"]
    assert final["runs"] == pushed.direct["runs"]


# -- endless pagination: the crawl ends ----------------------------------------------------------
@pytest.mark.attack("crash")
@pytest.mark.parametrize("listing", ["tags/list", "_catalog", "referrers"])
def test_endless_pagination_ends_the_crawl_in_seconds(
    listing: str, pushed: Pushed, proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.inject("paginate", f"/{listing}" if listing != "referrers" else "/referrers/", count=None)
    source = f"{proxy.host}/*" if listing == "_catalog" else f"{proxy.host}/{REPO}"
    lake = tmp_path / "lake"
    done = crawl_cli(
        tmp_path,
        "--from",
        source,
        "--lake",
        str(lake),
        "--trust",
        str(pushed.trust),
        limit=PAGINATION_LIMIT,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    said = (done.stdout + done.stderr).lower()
    assert "page" in said, f"no error or warning names the endless pages:\n{said}"
    assert proxy.injected("paginate") >= 1
