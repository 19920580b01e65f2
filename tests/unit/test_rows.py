"""The rows a crawl gathers, as dictionaries or as columns (an SBOM's components), make the
same lake rows in the same order; the JSON text of a value is ``json.dumps``'s, whichever way
it is written."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from attestlake.crawl.chunk import to_tables
from attestlake.crawl.normalize.common import Columns, Rows, to_json
from attestlake.crawl.normalize.sbom import MAX_DEPTH as SBOM_MAX_DEPTH
from attestlake.crawl.normalize.sbom import sbom_rows
from attestlake.lake.tables import SBOM_COMPONENTS
from tests.unit.test_normalize import ctx, statement


def _component(i: int) -> dict[str, Any]:
    return {
        "bom-ref": f"pkg:npm/c{i}@1.{i}",
        "purl": f"pkg:npm/c{i}@1.{i}",
        "name": f"c{i}",
        "version": f"1.{i}",
        "hashes": [{"alg": "SHA-256", "content": f"{i:064x}"}],
        "licenses": [{"license": {"id": "MIT"}}, {"expression": "Apache-2.0 OR MIT"}],
    }


def _sbom(first: int, n: int) -> bytes:
    components = [_component(i) for i in range(first, first + n)]
    components[0]["components"] = [_component(1000 + first)]  # nested
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components}
    ).encode()


def test_sbom_components_as_columns_are_the_rows_each_component_makes() -> None:
    rows = sbom_rows(ctx(statement("t", {})), _sbom(0, 3), carrier="evidence", trusted=True)
    (part,) = rows.parts("sbom_components")
    assert isinstance(part, Columns) and len(part) == 4
    first, nested, *_ = rows.by_table["sbom_components"]
    assert first["name"] == "c0" and nested["name"] == "c1000"
    assert first["hashes"] == json.dumps({"sha256": f"{0:064x}"}, separators=(",", ":"))
    assert first["licenses"] == '["MIT","Apache-2.0 OR MIT"]'
    assert first["carrier"] == "evidence" and first["trusted"] is True
    assert rows.count("sbom_components") == 4


def test_rows_and_columns_gathered_in_turn_keep_their_order_in_the_arrow_table() -> None:
    document = ctx(statement("t", {}))
    gathered, expected = Rows(), []
    for first in (0, 10, 20):
        sbom = sbom_rows(document, _sbom(first, 2), carrier="evidence", trusted=True)
        gathered.extend(sbom)
        expected.extend(sbom.rows("sbom_components"))
        row = {**expected[-1], "name": f"by hand {first}", "hashes": None}
        gathered.add("sbom_components", row)
        expected.append(row)
    (table,) = to_tables(gathered).values()
    assert table.schema == SBOM_COMPONENTS.schema
    assert table.to_pylist() == pa.Table.from_pylist(expected, SBOM_COMPONENTS.schema).to_pylist()
    assert [r["name"] for r in table.to_pylist()][:4] == ["c0", "c1000", "c1", "by hand 0"]


def test_extending_rows_copies_the_columns_it_is_given() -> None:
    source = sbom_rows(ctx(statement("t", {})), _sbom(0, 2), carrier="evidence", trusted=True)
    gathered = Rows()
    gathered.extend(source)
    gathered.extend(source)
    assert gathered.count("sbom_components") == 6
    assert source.count("sbom_components") == 3


_VALUES = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('"\\\x00\x1f\u2028'))


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.lists(_VALUES, max_size=5)
    | st.dictionaries(_VALUES, _VALUES, max_size=5)
    | st.dictionaries(_VALUES, st.integers() | st.none() | st.lists(_VALUES), max_size=3)
)
def test_json_text_is_what_json_dumps_writes(value: Any) -> None:
    assert to_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_component_hashes_are_named_alike_and_unreadable_ones_left_out() -> None:
    nested: dict[str, Any] = {"name": "leaf"}
    for level in range(SBOM_MAX_DEPTH + 3):
        nested = {"name": f"level {level}", "components": [nested]}
    cdx = {
        "bomFormat": "CycloneDX",
        "components": [
            {
                "name": "a",
                "hashes": [
                    {"alg": "SHA-256", "content": "ab"},
                    {"alg": "sha_512", "content": "cd"},
                    {"alg": "-", "content": "ef"},
                    {"alg": "MD5", "content": ""},
                    "not an object",
                ],
            },
            {"name": "b", "hashes": "not a list", "licenses": [{"license": {"name": "X"}}]},
            nested,
        ],
    }
    spdx = {
        "spdxVersion": "SPDX-2.3",
        "packages": [
            {"name": "p", "checksums": [{"algorithm": "SHA1", "checksumValue": "12"}, {}]},
            {"name": "q", "checksums": [{"algorithm": 1, "checksumValue": "34"}]},
        ],
    }
    document = ctx(statement("t", {}))
    a, b, *levels = sbom_rows(document, cdx, carrier="predicate", trusted=True).rows(
        "sbom_components"
    )
    assert a["hashes"] == '{"sha256":"ab","sha512":"cd"}' and a["licenses"] is None
    assert b["hashes"] is None and b["licenses"] == '["X"]'
    # the top level and SBOM_MAX_DEPTH levels under it are read, the deeper ones are not
    assert [c["name"] for c in levels] == [f"level {n}" for n in range(SBOM_MAX_DEPTH + 2, 1, -1)]
    p, q = sbom_rows(document, spdx, carrier="predicate", trusted=True).rows("sbom_components")
    assert p["hashes"] == '{"sha1":"12"}' and q["hashes"] is None
