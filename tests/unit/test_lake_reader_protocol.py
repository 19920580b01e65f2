"""A table that another engine raised to a Delta reader feature (deletion vectors, column
mapping) is not its Parquet files read as they are: deleted rows would come back, renamed
columns would read as NULL. Every way into the lake refuses it, naming the table, the
feature and the repair, and a crawl writes nothing into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable, TableFeatures

from attestlake.crawl.crawl import crawl
from attestlake.crawl.sources import open_source
from attestlake.errors import LakeError
from attestlake.lake.lake import Lake
from attestlake.lake.lake_check import check_lake
from attestlake.lake.snapshot_files import snapshot_files
from attestlake.lake.structure import REWRITE_PLAIN
from attestlake.verify.verify import load_policy
from tests.lakefactory import raw_lake

FEATURES = {
    "deletion vectors": (TableFeatures.DeletionVectors, "deletionVectors"),
    "column mapping": (TableFeatures.ColumnMapping, "columnMapping"),
}


def _raised(tmp_path: Path, feature: TableFeatures) -> Path:
    lake = raw_lake(tmp_path / "lake", {"runs": [{"run_id": "a"}, {"run_id": "b"}]})
    DeltaTable(str(lake / "runs")).alter.add_feature(feature, allow_protocol_versions_increase=True)
    return lake


@pytest.mark.parametrize("case", FEATURES)
def test_a_session_and_spark_registration_refuse_it(tmp_path: Path, case: str) -> None:
    feature, named = FEATURES[case]
    lake = _raised(tmp_path, feature)
    for open_it in (Lake.open, snapshot_files):
        with pytest.raises(LakeError) as refused:
            open_it(lake)
        message = str(refused.value)
        assert "table runs" in message and f"protocol 3 ({named})" in message
        assert "REORG TABLE" in message


@pytest.mark.parametrize("case", FEATURES)
def test_lake_check_names_the_table_and_the_repair(tmp_path: Path, case: str) -> None:
    feature, named = FEATURES[case]
    health = check_lake(_raised(tmp_path, feature))
    assert not health.healthy
    (problem,) = health.problems
    assert (problem.table, problem.file) == ("runs", "runs/_delta_log")
    assert f"protocol 3 ({named})" in problem.what and problem.repair == REWRITE_PLAIN


def test_a_crawl_into_it_refuses_and_writes_nothing(tmp_path: Path) -> None:
    lake = _raised(tmp_path, TableFeatures.DeletionVectors)
    trust = tmp_path / "trust.yaml"
    trust.write_text("keys: []\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    logs = {p: p.read_bytes() for p in lake.glob("*/_delta_log/*.json")}
    with pytest.raises(LakeError, match="deletionVectors"):
        crawl(open_source(str(tmp_path / "empty")), lake, load_policy(trust), allow_empty=True)
    assert {p: p.read_bytes() for p in lake.glob("*/_delta_log/*.json")} == logs
