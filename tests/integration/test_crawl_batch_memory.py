"""``attestlake crawl --batch-memory``: smaller batches, the same lake; a bad size is refused
before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_helpers import run_cli
from tests.integration.test_crawl_store import build_store, lake_rows, make_signer

RUNS = 140  # with the other units of build_store: three chunks of at most 64 units


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("batch-memory")
    signer = make_signer(tmp / "keys")
    build_store(tmp / "store", signer, runs=RUNS)
    return tmp / "store", signer.trust


def _crawl(tmp: Path, store: tuple[Path, Path], lake: Path, *extra: str) -> dict[str, object]:
    root, trust = store
    done = run_cli(
        tmp,
        "crawl",
        "--from",
        str(root),
        "--lake",
        str(lake),
        "--trust",
        str(trust),
        "--json",
        *extra,
    )
    assert done.code == 0, done.err
    result = done.json()
    assert isinstance(result, dict)
    return result


def test_a_smaller_bound_writes_more_batches_and_the_same_lake(
    tmp_path: Path, store: tuple[Path, Path]
) -> None:
    whole = _crawl(tmp_path, store, tmp_path / "whole")
    small = _crawl(tmp_path, store, tmp_path / "small", "--batch-memory", "1K")

    assert whole["batches"] == 1
    assert small["batches"] == 3  # a batch is at least one chunk: 64, 64, then the rest
    assert small["verified"] == whole["verified"] == RUNS + 1
    assert lake_rows(tmp_path / "small") == lake_rows(tmp_path / "whole")


@pytest.mark.parametrize("size", ["0", "lots", "-1M", "1T"])
def test_a_bad_bound_is_refused_and_nothing_is_written(
    tmp_path: Path, store: tuple[Path, Path], size: str
) -> None:
    root, trust = store
    lake = tmp_path / "lake"

    done = run_cli(
        tmp_path, "crawl", "--from", str(root), "--lake", str(lake), "--trust", str(trust),
        "--batch-memory", size,
    )  # fmt: skip

    assert done.code == 1
    assert done.err.strip() == (
        f"error: --batch-memory: not a size: {size!r} (examples: 1048576, 512K, 32M, 1G)"
    )
    assert not lake.exists()


def test_the_command_s_default_is_the_crawl_s_bound() -> None:
    import inspect

    from attestlake._cli.crawling import crawl as command
    from attestlake._internal.sizes import parse_size
    from attestlake.crawl.crawl import MAX_BATCH_BYTES

    default = inspect.signature(command).parameters["batch_memory"].default
    assert parse_size(default) == MAX_BATCH_BYTES
