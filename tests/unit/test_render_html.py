"""HTML tables, binary outputs and the saved-query catalogue of attestlake.lake.render."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from attestlake.audit.query_files import get_query, load_queries, query_catalog, query_doc
from attestlake.errors import InputError
from attestlake.lake.render import format_table, html_cell, html_table, row_values, table_bytes

DIGEST = "sha256:" + "0123456789abcdef" * 4
HOSTILE = pa.table(
    {
        "workflow": ['<script>alert("x")</script>', "ok", None],
        "n": [1, 22, 3],
        "image": [f"ghcr.io/acme/app@{DIGEST}", "x", "y"],
        "<b>col</b>": ["a", "b", "c"],
        "at": pa.array([datetime(2024, 5, 1, 10, 0, tzinfo=UTC)] * 3, pa.timestamp("us", "UTC")),
    }
)


def test_html_table_escapes_every_name_and_value() -> None:
    out = html_table(HOSTILE)
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/<wbr>script&gt;" in out
    assert "&lt;b&gt;col&lt;/<wbr>b&gt;" in out
    assert '<span class="null">null</span>' in out
    assert '<td class="num">22</td>' in out and '<th class="num">n</th>' in out
    tags = set(re.findall(r"</?([a-z]+)", out))
    assert tags <= {"table", "thead", "tbody", "tr", "th", "td", "span", "wbr"}


def test_html_cell_attributes_cannot_be_broken_out_of() -> None:
    cell = html_cell('" onmouseover="alert(1)', short_digests=True)
    assert cell == "&quot; onmouseover=<wbr>&quot;alert(1)"
    with_digest = html_cell(f'"><img src=x> {DIGEST} "', short_digests=True)
    assert with_digest.count('"') == 4  # only class="digest" and title="..."
    assert "<img" not in with_digest


def test_html_table_caps_rows() -> None:
    out = html_table(HOSTILE, limit=1)
    assert out.count("<tr>") == 2  # header + one row
    assert out.endswith('<p class="more">… 2 more rows</p>')
    assert html_table(HOSTILE, limit=2).endswith("… 1 more row</p>")
    assert html_table(HOSTILE.slice(0, 0)) == '<p class="empty">(no rows)</p>'


def test_short_digests_keep_the_full_value_in_a_tooltip() -> None:
    out = html_table(HOSTILE, short_digests=True)
    assert f'<span class="digest" title="{DIGEST}">sha256:01234567…</span>' in out
    assert DIGEST not in out.replace(f'title="{DIGEST}"', "")
    assert DIGEST in html_table(HOSTILE)  # full by default (notebooks)


def test_timestamps_break_only_between_date_and_time() -> None:
    cell = html_cell(datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
    assert cell == '<span class="nw">2024-05-01</span><wbr><span class="nw">T10:00:00Z</span>'


def test_control_and_bidi_characters_are_shown_as_escapes() -> None:
    assert html_cell("a\u202eb\x1b[2J") == "a\\u202eb\\x1b[2J"


def test_duplicate_column_names_are_kept() -> None:
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    assert row_values(table) == [(1, 2)]
    assert format_table(table, "csv") == "a,a\n1,2\n"
    assert html_table(table).count("<td") == 2


def test_table_bytes() -> None:
    parquet = table_bytes(HOSTILE, "parquet")
    assert pq.read_table(io.BytesIO(parquet)).equals(HOSTILE)
    assert json.loads(table_bytes(HOSTILE, "json"))[1]["workflow"] == "ok"
    assert table_bytes(HOSTILE, "table").endswith(b"\n")
    with pytest.raises(InputError, match="table, json, csv, parquet"):
        table_bytes(HOSTILE, "xlsx")


def test_query_catalog_and_doc() -> None:
    catalog = query_catalog(load_queries())
    rows = {r["name"]: r for r in catalog.to_pylist()}
    assert rows["missing_sbom_digests"]["params"] == "since=1970-01-01"
    assert rows["verification_failures"]["severity"] == "critical"
    doc = query_doc(get_query("missing_sbom_digests"))
    assert doc.startswith("missing_sbom_digests: Container images shipped without an SBOM")
    assert "severity:    high" in doc
    assert "  since (default '1970-01-01'): only runs started on or after" in doc
    assert "CAST($since AS DATE)" in doc
    assert "parameters: none" in query_doc(get_query("verification_failures"))
