"""A lake opened again in the same process reuses what it read of each table's log, and still
sees damage done in between: a data file deleted or truncated, a log entry changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from attestlake.demo.demo import DemoResult
from attestlake.errors import LakeError
from attestlake.lake.lake import Lake
from tests.demo_lake import copy_demo


def _opens(lake: Path) -> None:
    with Lake.open(lake) as opened:
        opened.sql("SELECT count(*) FROM runs")


def test_damage_between_two_opens_is_seen(tmp_path: Path, demo: DemoResult) -> None:
    lake = copy_demo(demo, tmp_path / "demo") / "lake"
    _opens(lake)
    _opens(lake)  # the second open reuses the reading of the logs
    data = sorted((lake / "runs").rglob("*.parquet"))[0]
    saved = data.read_bytes()
    data.write_bytes(saved[:-10])
    with pytest.raises(LakeError, match="truncated or overwritten"):
        _opens(lake)
    data.unlink()
    with pytest.raises(LakeError, match="data file is missing"):
        _opens(lake)
    data.write_bytes(saved)
    _opens(lake)
    entry = sorted((lake / "subjects" / "_delta_log").glob("*.json"))[-1]
    entry.write_text(entry.read_text() + "not json\n")
    with pytest.raises(LakeError, match="subjects"):
        _opens(lake)
