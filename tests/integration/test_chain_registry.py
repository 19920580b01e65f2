"""The whole chain against a real OCI registry (docker-registry started on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestlake.store.registry import RegistryStore
from tests.integration.cli_helpers import attest_run, run_cli, setup_workspace
from tests.integration.registry_server import RegistryServer

pytestmark = pytest.mark.registry


def test_chain_through_registry(tmp_path: Path, registry: RegistryServer) -> None:
    setup_workspace(tmp_path)
    store = f"{registry.host}/chain/attestations"
    for n in (1, 2):
        pushed = attest_run(tmp_path, store, n)
        assert pushed.code == 0, pushed.err

    # The registry alone is enough to find every attestation again.
    repo = RegistryStore(registry.url, "chain/attestations")
    tags = sorted(repo.tags())
    assert len(tags) == 2 and all(t.startswith("run-") for t in tags)
    manifest = repo.get_manifest(tags[0])
    assert manifest.annotations["dev.attestlake.kind"] == "attestation"
    assert manifest.annotations["dev.attestlake.project"] == "skynet"
    # The run statement, the SLSA provenance of its outputs (pushed by default), the SBOM.
    assert [
        (layer.media_type, layer.annotations["dev.attestlake.role"]) for layer in manifest.layers
    ] == [
        ("application/vnd.dsse.envelope.v1+json", "envelope"),
        ("application/vnd.dsse.envelope.v1+json", "provenance"),
        ("application/vnd.cyclonedx+json", "evidence"),
    ]

    crawl = run_cli(
        tmp_path, "crawl", "--from", store, "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert crawl.code == 0, crawl.err
    # Two attestations (run records) of two documents each: counted by attestation.
    summary = crawl.json()
    assert (summary["verified"], summary["not_verified"], summary["documents"]) == (2, 0, 4)
    assert summary["documents_verified"] == 4
    again = run_cli(
        tmp_path, "crawl", "--from", store, "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert again.json()["ingested"] == 0
    assert attest_run(tmp_path, store, 3).code == 0
    third = run_cli(
        tmp_path, "crawl", "--from", store, "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert third.json()["ingested"] == 1
    count = run_cli(
        tmp_path, "sql", "--lake", "lake", "--format", "csv", "SELECT count(*) AS n FROM runs"
    )
    assert count.out.splitlines() == ["n", "3"]


def test_chain_through_registry_with_basic_auth(
    tmp_path: Path, registry_basic_auth: RegistryServer
) -> None:
    setup_workspace(tmp_path)
    store = f"{registry_basic_auth.host}/secured/attestations"
    creds = {
        "ATTESTLAKE_REGISTRY_USERNAME": registry_basic_auth.username or "",
        "ATTESTLAKE_REGISTRY_PASSWORD": registry_basic_auth.password or "",
    }
    denied = attest_run(tmp_path, store, 1)
    assert denied.code == 1
    assert "ATTESTLAKE_REGISTRY_USERNAME" in denied.err
    pushed = run_cli(tmp_path, "attest", "push", "--key", "ci.key", "--to", store, env=creds)
    assert pushed.code == 0, pushed.err
    assert (registry_basic_auth.password or "-") not in pushed.out + pushed.err
    crawl = run_cli(
        tmp_path,
        "crawl",
        "--from",
        store,
        "--lake",
        "lake",
        "--trust",
        "trust.yaml",
        "--json",
        env=creds,
    )
    assert crawl.code == 0, crawl.err
    assert crawl.json()["verified"] == 1
