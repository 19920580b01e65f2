"""Plain-text tables: long cells are cut, at the end or, for paths, at the start."""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.render import MAX_CELL, text_table

LONG_PATH = "/" + "directory/" * 10 + "envelope.json:12"


def test_long_cells_lose_their_end_by_default() -> None:
    out = text_table(pa.table({"source": [LONG_PATH]})).splitlines()

    assert out[2] == LONG_PATH[: MAX_CELL - 1] + "…"


def test_columns_named_to_keep_their_end_lose_their_start() -> None:
    table = pa.table({"source": [LONG_PATH, "short.json:1"], "note": [LONG_PATH, ""]})

    out = text_table(table, keep_end=("source",)).splitlines()

    assert out[2].startswith("…" + LONG_PATH[-(MAX_CELL - 1) :] + "  ")
    assert out[2].endswith(LONG_PATH[: MAX_CELL - 1] + "…")
    assert out[3] == "short.json:1"
    assert len(out[1].split()[0]) == MAX_CELL
