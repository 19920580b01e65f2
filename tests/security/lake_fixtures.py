"""A real lake with several commits per table, and ways to damage a copy of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from attestlake.crawl.crawl import crawl
from attestlake.lake.lake import Lake
from attestlake.verify.verify import load_policy
from tests.lakefactory import BuiltLake, RunSpec, build_lake, contract_yaml, image_ref, when

CONTRACT = contract_yaml("build", 1, [("CONTAINER_IMAGE", "image")], outputs=["image"])
RUNS = 4


def build(tmp: Path) -> tuple[BuiltLake, Path]:
    """A store of ``RUNS`` runs, crawled one unit per batch: every table gets one commit per
    run, so ``runs/_delta_log`` has entries 0 (create) to ``RUNS``."""
    built = build_lake(
        tmp,
        contracts={"c": CONTRACT},
        runs=[
            RunSpec("shop", f"build-{i}", "c", when(2024, 5, i + 1), {"image": image_ref(f"i{i}")})
            for i in range(RUNS)
        ],
    )
    lake = tmp / "committed"
    crawl(built.store, lake, load_policy(built.policy_path), batch_size=1, jobs=1)
    return built, lake


def copy(lake: Path, to: Path) -> Path:
    shutil.copytree(lake, to)
    return to


def runs_files(lake: Path) -> list[Path]:
    return sorted((lake / "runs").glob("*.parquet"))


def log_entry(lake: Path, version: int, table: str = "runs") -> Path:
    return lake / table / "_delta_log" / f"{version:020d}.json"


def added_files(entry: Path) -> list[str]:
    """The data files a Delta log entry adds (paths relative to its table)."""
    actions = [json.loads(line) for line in entry.read_text().splitlines() if line.strip()]
    return [a["add"]["path"] for a in actions if "add" in a]


def count_runs(lake: Path) -> int:
    with Lake.open(lake) as opened:
        return int(opened.sql("SELECT count(*) AS n FROM runs").column("n")[0].as_py())


def listing(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in lake.rglob("*") if p.is_file()}
