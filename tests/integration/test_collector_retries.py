"""Pushes retry transient registry errors: a proxy answers 503, then lets requests through."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestlake.store.registry import RegistryStore
from tests.integration.cli_helpers import GITHUB_ENV, attest_run, run_cli, setup_workspace
from tests.integration.collector_helpers import FlakyProxy
from tests.integration.registry_server import RegistryServer

pytestmark = pytest.mark.registry


def test_push_succeeds_after_transient_503s(tmp_path: Path, registry: RegistryServer) -> None:
    setup_workspace(tmp_path)
    with FlakyProxy(registry.host, fail_first=3) as proxy:
        pushed = attest_run(tmp_path, f"{proxy.host}/retry/flaky", 1)
        assert pushed.code == 0, pushed.err
        assert proxy.failed == 3 and proxy.forwarded > 3
    tag = pushed.out.split(":run-")[1].split()[0]
    assert f"run-{tag}" in list(RegistryStore(registry.url, "retry/flaky").tags())


def test_push_fails_clearly_then_succeeds_once_the_registry_is_back(
    tmp_path: Path, registry: RegistryServer
) -> None:
    setup_workspace(tmp_path)
    with FlakyProxy(registry.host) as proxy:
        proxy.always_fail = True
        store = f"{proxy.host}/retry/down"
        down = attest_run(tmp_path, store, 2)
        assert down.code == 1
        assert "HTTP 503" in down.err and "after 4 attempts" in down.err, down.err
        assert "Traceback" not in down.err
        assert proxy.failed == 4 and proxy.forwarded == 0  # one request, retried 3 times

        proxy.always_fail = False
        env = {**GITHUB_ENV, "GITHUB_RUN_ID": str(4242 + 2)}
        again = run_cli(tmp_path, "attest", "push", "--key", "ci.key", "--to", store, env=env)
        assert again.code == 0, again.err
        assert "pushed " in again.out and "already" not in again.out


def _blob_head(method: str, path: str) -> bool:
    return method == "HEAD" and "/blobs/sha256:" in path


def test_a_500_to_a_blob_head_is_asked_again(tmp_path: Path, registry: RegistryServer) -> None:
    """docker-registry answers 500 to a HEAD of a blob another client is still uploading (two
    CI jobs pushing the same layer): the push asks again instead of failing."""
    setup_workspace(tmp_path)
    with FlakyProxy(registry.host, fail_first=2, status=500, affects=_blob_head) as proxy:
        pushed = attest_run(tmp_path, f"{proxy.host}/retry/uploading", 3)
        assert pushed.code == 0, pushed.err
        assert proxy.failed == 2
    tag = pushed.out.split(":run-")[1].split()[0]
    assert f"run-{tag}" in list(RegistryStore(registry.url, "retry/uploading").tags())


def test_a_500_elsewhere_or_for_good_fails_the_push_clearly(
    tmp_path: Path, registry: RegistryServer
) -> None:
    setup_workspace(tmp_path)
    with FlakyProxy(registry.host, status=500, affects=_blob_head) as proxy:
        proxy.always_fail = True
        heads = attest_run(tmp_path, f"{proxy.host}/retry/broken", 4)
        assert heads.code == 1 and "HTTP 500" in heads.err and "after 4 attempts" in heads.err
        assert proxy.failed == 4, heads.err

    def upload(method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/blobs/uploads/")

    with FlakyProxy(registry.host, fail_first=1, status=500, affects=upload) as proxy:
        posted = attest_run(tmp_path, f"{proxy.host}/retry/refused", 5)
        assert posted.code == 1 and "HTTP 500" in posted.err, posted.err
        assert "attempts" not in posted.err and proxy.failed == 1  # an upload is not asked again
