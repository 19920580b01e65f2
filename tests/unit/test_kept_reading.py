"""A re-evaluation reads the units a lake kept back a crawl batch at a time, in the order the
crawls wrote them (the order one sort of every ``blobs`` row by time, crawl, batch, unit and
part gives), so that no sort holds more than a batch's bytes: at 100k runs the one sort of
every kept file did not fit in the session's bound. ``lake compact`` rewrites the kept bytes
of an earlier version in row groups small enough to read a batch at a time."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, WriterProperties, write_deltalake

from attestlake.crawl.kept_reading import KeptSource, windows
from attestlake.crawl.kept_sessions import kept_session
from attestlake.errors import LakeError
from attestlake.lake.file_layout import LARGE_VALUE_ROW_GROUP
from attestlake.lake.tables import BLOBS
from attestlake.lake.write import compact, create_tables
from tests.lakefactory import raw_lake

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
#: Every blobs row in the order a re-evaluation must read them (one sort of all of them).
GLOBAL_ORDER = "SELECT * FROM blobs ORDER BY seen_at, crawl_id, crawl_batch, unit_index, part"


def _crawl_id(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-000000000000"


def _rows(
    crawl: str | None, batch: int | None, seen: datetime | None, units: int, size: int = 8
) -> list[dict[str, Any]]:
    rng = random.Random(f"{crawl}{batch}{seen}")
    out = []
    for index in range(units):
        manifest = f"sha256:{rng.getrandbits(256):064x}"
        for part, role in enumerate(("document", "evidence")):
            out.append(
                {
                    "manifest_digest": manifest,
                    "source": f"oci:store:{manifest[7:15]}",
                    "seen_at": seen,
                    "unit_index": index,
                    "part": part,
                    "role": role,
                    "digest": f"sha256:{rng.getrandbits(256):064x}",
                    "content": rng.randbytes(size),
                    "crawl_id": crawl,
                    "crawl_batch": batch,
                }
            )
    return out


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["manifest_digest"], row["part"], hashlib.sha256(row["content"]).hexdigest())


def _oracle(lake: Path) -> list[tuple[Any, ...]]:
    with kept_session({"blobs": (lake, BLOBS)}, "4GB") as con:
        return [_key(r) for b in con.sql(GLOBAL_ORDER).to_arrow_reader(256) for r in b.to_pylist()]


def test_units_come_back_in_the_order_of_one_sort_of_every_row(tmp_path: Path) -> None:
    """Crawls whose batches share their crawl's time, a later crawl whose id sorts first, two
    crawls at the same time, a batch whose times overlap another crawl's, rows with no time
    and rows with no crawl id, appended in a shuffled order of batches."""
    b, a, c, d = _crawl_id(1), _crawl_id(2), _crawl_id(3), _crawl_id(4)
    batches = [
        *[_rows(a, n, T0, 3) for n in (1, 2, 3)],
        *[_rows(b, n, T0 + timedelta(hours=1), 2) for n in (1, 2)],
        _rows(c, 1, T0, 2),  # the same time as a: after it by crawl id
        _rows(d, 1, T0 + timedelta(minutes=30), 2) + _rows(d, 1, T0 + timedelta(hours=2), 1),
        _rows(a, 4, None, 2),  # no time: last of all
        _rows(None, None, T0 + timedelta(hours=1), 2),  # no crawl: after b's, same time
    ]
    random.Random(7).shuffle(batches)
    lake = tmp_path / "lake"
    for rows in batches:
        raw_lake(lake, {"blobs": rows})
    for window_bytes in (0, 200, 1 << 30):  # a batch, a few batches, all of them at a time
        read = [_key(r) for r in KeptSource(lake, window_bytes=window_bytes).rows()]
        assert read == _oracle(lake)
    assert len(read) == sum(len(rows) for rows in batches)


def test_batches_are_read_together_where_their_rows_could_interleave() -> None:
    a, b = _crawl_id(1), _crawl_id(2)
    t1, t2 = T0, T0 + timedelta(hours=1)

    def read(batches: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
        return [w.batches for w in windows([(*x, 1) for x in batches], limit=0)]

    one_crawl = [(a, 1, t1, t1), (a, 2, t1, t1), (a, 3, t1, t1)]
    assert read(one_crawl) == [[(a, 1)], [(a, 2)], [(a, 3)]]
    overlapping = [(a, 1, t1, t2), (b, 1, t1 + timedelta(minutes=5), t1 + timedelta(minutes=6))]
    assert read(overlapping) == [[(a, 1), (b, 1)]]
    touching = [(a, 1, t1, t2), (b, 1, t2, t2)]  # at t2, a's rows sort before b's
    assert read(touching) == [[(a, 1)], [(b, 1)]]
    no_crawl = [(a, 1, t1, t2), (None, None, t2, t2), (b, 1, t2 + timedelta(seconds=1), t2)]
    assert read(no_crawl) == [[(a, 1)], [(None, None)], [(b, 1)]]


def test_small_batches_are_read_together_up_to_the_window_bytes() -> None:
    batches = [
        (_crawl_id(n), 1, T0 + timedelta(hours=n), T0 + timedelta(hours=n), 10) for n in range(5)
    ]
    sizes = [(len(w.batches), w.size) for w in windows(batches, limit=25)]
    assert sizes == [(2, 20), (2, 20), (1, 10)]
    big = [(_crawl_id(1), 1, T0, T0, 100)]  # one batch over the window: read alone
    assert [w.size for w in windows(big, limit=25)] == [100]


def test_kept_bytes_many_times_the_bound_read_back_a_batch_at_a_time(tmp_path: Path) -> None:
    """96 MB of kept files (incompressible) in 32 batches, read under a 32 MB bound: every
    row, in order; one sort of them all does not fit in that bound."""
    lake = tmp_path / "lake"
    for n in range(1, 33):
        raw_lake(lake, {"blobs": _rows(_crawl_id(1), n, T0, 6, size=256 * 1024)})
    read = [_key(r) for r in KeptSource(lake, limit="32MB", window_bytes=4 << 20).rows()]
    assert read == _oracle(lake)
    with (
        kept_session({"blobs": (lake, BLOBS)}, "32MB") as con,
        pytest.raises(duckdb.OutOfMemoryException),
    ):
        for _ in con.sql(GLOBAL_ORDER).to_arrow_reader(256):
            pass


def test_a_batch_over_the_bound_is_a_clear_error(tmp_path: Path) -> None:
    lake = raw_lake(tmp_path / "lake", {"blobs": _rows(_crawl_id(1), 1, T0, 24, size=1 << 20)})
    with pytest.raises(LakeError, match="do not fit in the re-evaluation's memory bound"):
        list(KeptSource(lake, limit="4MB").rows())


def test_compaction_rewrites_row_groups_written_too_large(tmp_path: Path) -> None:
    """blobs written in one row group of 3,000 rows (as an earlier version compacted it):
    ``lake compact`` rewrites it in row groups of at most LARGE_VALUE_ROW_GROUP rows, every
    row kept; compacted again, nothing is rewritten."""
    lake = tmp_path / "lake"
    create_tables(lake)
    rows = _rows(_crawl_id(1), 1, T0, 1500)
    data = pa.Table.from_pylist([{c: r.get(c) for c in BLOBS.schema.names} for r in rows])
    write_deltalake(
        str(lake / "blobs"),
        data.cast(BLOBS.schema),
        mode="append",
        writer_properties=WriterProperties(compression="ZSTD"),
    )

    def row_groups() -> list[int]:
        files = DeltaTable(str(lake / "blobs")).file_uris()
        return [
            pq.ParquetFile(f).metadata.row_group(i).num_rows
            for f in files
            for i in range(pq.ParquetFile(f).metadata.num_row_groups)
        ]

    assert row_groups() == [3000]
    before = sorted(_oracle(lake))
    compact(lake)
    assert max(row_groups()) <= LARGE_VALUE_ROW_GROUP and sum(row_groups()) == 3000
    assert sorted(_oracle(lake)) == before
    files = DeltaTable(str(lake / "blobs")).file_uris()
    compact(lake)
    assert DeltaTable(str(lake / "blobs")).file_uris() == files
