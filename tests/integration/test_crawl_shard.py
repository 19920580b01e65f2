"""``crawl --shard K/N``: four crawlers, each a stable share of the demo's store, at the same
time on one lake, make the lake one crawl makes, row for row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from attestlake.crawl.shard import Shard, parse_shard
from attestlake.demo.demo import DemoResult
from attestlake.errors import InputError
from attestlake.lake.consistency import check
from tests.integration.cli_helpers import run_cli
from tests.integration.test_crawl_store import assert_no_duplicate_keys, lake_rows


def test_four_shards_at_once_make_the_lake_one_crawl_makes(
    tmp_path: Path, demo: DemoResult
) -> None:
    trust = str(demo.directory / "trust.yaml")
    lake = tmp_path / "sharded"

    def command(k: int) -> list[str]:
        crawl = ["crawl", "--from", str(demo.store), "--lake", str(lake), "--trust", trust]
        return [sys.executable, "-m", "attestlake._cli", *crawl, "--shard", f"{k}/4", "--json"]

    procs = [
        subprocess.Popen(
            command(k),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for k in range(1, 5)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    whole = run_cli(
        tmp_path, "crawl", "--from", str(demo.store), "--lake", "whole", "--trust", trust
    )
    assert whole.code == 0, whole.err
    sharded, unsharded = lake_rows(lake), lake_rows(tmp_path / "whole")
    assert {t: len(r) for t, r in sharded.items()} == {t: len(r) for t, r in unsharded.items()}
    assert sharded == unsharded
    assert_no_duplicate_keys(lake)
    assert not check(lake).problems


def test_every_unit_is_in_exactly_one_share() -> None:
    keys = [f"sha256:{n:064x}" for n in range(0, 2**20, 997)] + ["not-a-digest", "sha256:zz"]
    for count in (1, 2, 3, 4, 7):
        shards = [Shard(k, count) for k in range(1, count + 1)]
        for key in keys:
            assert sum(s.owns(key) for s in shards) == 1, (key, count)


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "4", "a/b", "1/5000", "-1/4", ""])
def test_a_bad_shard_is_a_clear_error(tmp_path: Path, demo: DemoResult, text: str) -> None:
    with pytest.raises(InputError, match="not a shard"):
        parse_shard(text)
    out = run_cli(
        tmp_path,
        *("crawl", "--from", str(demo.store), "--lake", "lake"),
        *("--trust", str(demo.directory / "trust.yaml"), "--shard", text),
    )
    assert out.code == 1 and "not a shard" in out.err
    assert not (tmp_path / "lake").exists()
