"""Which data files lie in Hive directories that give the partition values their log holds
(a reader that takes partition values from directory names reads the log's values)."""

from __future__ import annotations

import pytest

from attestlake.lake.snapshot_files import DataFile


@pytest.mark.parametrize(
    ("relative", "partition", "agrees"),
    [
        ("run_date=2026-11-10/part-0.parquet", (("run_date", "2026-11-10"),), True),
        ("run_date=2026-11-10/part-0.parquet", (("run_date", "2026-11-11"),), False),
        ("run_date=a%3Db%2Fc/part-0.parquet", (("run_date", "a=b/c"),), True),  # escaped
        ("run_date=__HIVE_DEFAULT_PARTITION__/p.parquet", (("run_date", None),), True),
        ("run_date=__HIVE_DEFAULT_PARTITION__/p.parquet", (("run_date", "x"),), False),
        ("part-0.parquet", (("run_date", "2026-11-10"),), False),  # flat: no directory
        ("day=2026-11-10/part-0.parquet", (("run_date", "2026-11-10"),), False),  # other name
        ("x/run_date=2026-11-10/p.parquet", (("run_date", "2026-11-10"),), False),  # deeper
        ("part-0.parquet", (), True),  # an unpartitioned table
        ("sub/part-0.parquet", (), False),
    ],
)
def test_a_file_agrees_with_its_hive_directory_only_when_the_values_are_the_logs(
    relative: str, partition: tuple[tuple[str, str | None], ...], agrees: bool
) -> None:
    assert DataFile("/lake/runs/" + relative, partition, relative).in_hive_directory() is agrees
