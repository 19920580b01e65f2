"""``benchmarks.lake_files``: what opening a session costs, and what a merge costs, on a real
lake (the demo's)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from deltalake import DeltaTable

from attestlake.demo.demo import DemoResult
from attestlake.lake import write
from benchmarks.lake_files import main

ROOT = Path(__file__).resolve().parents[2]


def _printed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [ast.literal_eval(line) for line in capsys.readouterr().out.splitlines()]


def test_open_prints_the_session_of_each_bound_with_the_lake_s_files(
    demo: DemoResult, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["open", str(demo.lake)]) == 0
    bounded, unbounded = _printed(capsys)
    files = sum(
        len(DeltaTable(str(p)).file_uris())
        for p in demo.lake.iterdir()
        if (p / "_delta_log").is_dir() and p.name in {t for t in _tables()}
    )
    assert bounded["bound"] == "256MB" and unbounded["bound"] == "none"
    assert bounded["files"] == unbounded["files"] == files
    for printed in (bounded, unbounded):
        assert 0 < printed["imports"] <= printed["views bound"]  # type: ignore[operator]


def _tables() -> list[str]:
    from attestlake.lake.tables import TABLES

    return [t.name for t in TABLES]


def test_merge_prints_one_merge_of_merge_after_appends(
    demo: DemoResult, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rows = DeltaTable(str(demo.lake / "verifications")).to_pyarrow_table().num_rows
    assert rows >= write.MERGE_AFTER  # every append has rows
    assert main(["merge", str(demo.lake), "verifications"]) == 0
    (printed,) = _printed(capsys)
    assert printed["table"] == "verifications" and printed["merged"] == 1
    assert printed["files"] == 1  # the demo's rows make one small file
    assert printed["peak"] >= printed["before"]  # type: ignore[operator]
