"""One run found twice in a registry (its own tag, and as a referrer of the image it built)
is one run in the lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_helpers import GITHUB_ENV, run_cli, setup_workspace
from tests.integration.collector_helpers import push_image
from tests.integration.registry_server import RegistryServer

pytestmark = pytest.mark.registry


def test_a_run_attached_to_its_image_is_one_run(tmp_path: Path, registry: RegistryServer) -> None:
    setup_workspace(tmp_path)
    digest = push_image(registry.url, "dedup/skynet", "1.0")
    store = f"{registry.host}/dedup/attestations"
    env = {**GITHUB_ENV, "GITHUB_RUN_ID": "777"}
    for args in (
        (
            "attest",
            "init",
            "--contract",
            "contract.yaml",
            "--workflow",
            "build",
            "--project",
            "skynet",
        ),
        ("attest", "add", "--name", "image", "--value", f"{registry.host}/dedup/skynet@{digest}"),
        ("attest", "add", "--name", "sbom", "--value", "sbom.json"),
        ("attest", "push", "--key", "ci.key", "--to", store),
    ):
        r = run_cli(tmp_path, *args, env=env)
        assert r.code == 0, r.err
    assert "attached to" in r.out

    crawl = run_cli(
        tmp_path,
        "crawl",
        "--from",
        f"{registry.host}/dedup/*",
        "--lake",
        "lake",
        "--trust",
        "trust.yaml",
        "--json",
    )
    assert crawl.code == 0, crawl.err
    # The record and the image's two referrers (run statement, provenance: cosign's bundle
    # layout, key-signed) are seen and verified with the policy's key; none is malformed...
    assert crawl.json()["verified"] == 3
    formats = run_cli(
        tmp_path,
        "sql",
        "--lake",
        "lake",
        "--format",
        "csv",
        "SELECT format, status, signer, count(*) AS n FROM verifications "
        "GROUP BY ALL ORDER BY format",
    )
    assert formats.out.splitlines() == [
        "format,status,signer,n",
        "dsse,verified,ci.pub,2",
        "sigstore-bundle-v0.3,verified,ci.pub,2",
    ]
    counts = run_cli(
        tmp_path,
        "sql",
        "--lake",
        "lake",
        "--format",
        "csv",
        "SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM subjects) AS subjects, "
        "(SELECT count(*) FROM materials) AS materials, "
        "(SELECT count(DISTINCT manifest_digest) FROM verifications) AS manifests",
    )
    # ...but the run, its subjects and its materials are in the lake once.
    assert counts.out.splitlines() == ["runs,subjects,materials,manifests", "1,2,2,3"]
    again = run_cli(
        tmp_path,
        "crawl",
        "--from",
        f"{registry.host}/dedup/*",
        "--lake",
        "lake",
        "--trust",
        "trust.yaml",
        "--json",
    )
    assert again.json()["ingested"] == 0
