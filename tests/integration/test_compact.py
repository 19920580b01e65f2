"""`attestlake compact`: fewer files, same rows, superseded files deleted."""

from __future__ import annotations

from pathlib import Path

from deltalake import DeltaTable

from tests.integration.cli_helpers import attest_run, run_cli, setup_workspace


def test_compact_merges_files_and_keeps_every_row(tmp_path: Path) -> None:
    setup_workspace(tmp_path)
    for n in (1, 2, 3):
        assert attest_run(tmp_path, "oci:store", n).code == 0
        crawl = run_cli(
            tmp_path, "crawl", "--from", "store", "--lake", "lake", "--trust", "trust.yaml"
        )
        assert crawl.code == 0, crawl.err
    before = run_cli(
        tmp_path, "sql", "--lake", "lake", "--format", "csv", "SELECT run_id FROM runs ORDER BY 1"
    )
    assert len(DeltaTable(str(tmp_path / "lake" / "runs")).file_uris()) == 3

    out = run_cli(tmp_path, "compact", "--lake", "lake")
    assert out.code == 0, out.err
    assert "runs: 3 files -> 1, 3 superseded files deleted" in out.out
    assert len(DeltaTable(str(tmp_path / "lake" / "runs")).file_uris()) == 1
    assert len(list((tmp_path / "lake" / "runs").rglob("*.parquet"))) == 1
    after = run_cli(
        tmp_path, "sql", "--lake", "lake", "--format", "csv", "SELECT run_id FROM runs ORDER BY 1"
    )
    assert after.out == before.out and len(after.out.splitlines()) == 4
    # A crawl after compaction still knows what it has seen.
    again = run_cli(
        tmp_path, "crawl", "--from", "store", "--lake", "lake", "--trust", "trust.yaml", "--json"
    )
    assert again.json()["ingested"] == 0
