"""Untrusted JSON read as a stream refuses what the whole-document reader refuses, in the
same words, wherever the chunks fall."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from attestlake._internal import untrusted_json_stream
from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake._internal.untrusted_json_stream import NotAnArray, array_items

DOCUMENTS = [
    b'{"manifests": [{"a": 1}, {"b": [1, 2, 3]}], "schemaVersion": 2}',
    b'{"mediaType": "x", "manifests": [], "annotations": {"k": "v"}}',
    b'{\n  "manifests": [\n    {"a": "\\u00e9t\xc3\xa9"},\n    -0.5e-3, true, null, "s"\n  ]\n}\n',
    b'{"manifests": [123456789012345678901234567890, 1.5e308]}',
    # not JSON, each at its own place
    b"",
    b"   ",
    b'{"manifests": [1, 2',
    b'{"manifests": [1 2]}',
    b'{"manifests": [1,\n 2,]}',
    b'{"manifests": [1], }',
    b'{"manifests" [1]}',
    b'{"manifests": [1],\n"a" 2}',
    b'{"manifests": [1] } x',
    b'{"manifests": ["abc\\u12"]}',
    b'{"manifests": [tru]}',
    b'{"manifests": ["\x01"]}',
    b'{"manifests": ["\xff"]}',
    b'{"manifests": ["\xc3"]}',
    b'\xef\xbb\xbf{"manifests": []}',
    b"x",
    # JSON that is refused
    b'{"manifests": [{"a": 1, "a": 2}]}',
    b'{"manifests": [], "manifests": []}',
    b'{"manifests": [NaN]}',
    b'{"manifests": [Infinity]}',
    b'{"manifests": [1e999]}',
    b'{"manifests": [1' + b"0" * 120 + b"]}",
    b'{"manifests": ["\\udcff"]}',
    b'{"manifests": [' + b"[" * 40 + b"]" * 40 + b"]}",
    b'{"manifests": [], "other": ' + b"[" * 40 + b"]" * 40 + b"}",
]
NOT_AN_ARRAY = [b"{}", b"[]", b'"manifests"', b'{"manifests": {"a": 1}}', b'{"other": [1]}']


def _whole(raw: bytes) -> Any:
    try:
        value = loads(raw, max_bytes=1 << 20, max_depth=32, what="index.json")
    except MalformedJSON as exc:
        return ("refused", str(exc))
    return value["manifests"]


def _streamed(raw: bytes, **bounds: int) -> Any:
    try:
        return list(
            array_items(
                io.BytesIO(raw),
                "manifests",
                max_bytes=bounds.get("max_bytes", 1 << 20),
                max_item_chars=bounds.get("max_item_chars", 1 << 20),
                max_depth=32,
                what="index.json",
            )
        )
    except MalformedJSON as exc:
        return ("refused", str(exc))


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
@pytest.mark.parametrize("raw", DOCUMENTS)
def test_a_stream_reads_and_refuses_as_the_whole_document_reader(
    raw: bytes, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(untrusted_json_stream, "CHUNK", chunk)
    assert _streamed(raw) == _whole(raw)


@pytest.mark.parametrize("raw", NOT_AN_ARRAY)
def test_a_document_without_the_array_is_told_apart(raw: bytes) -> None:
    with pytest.raises(NotAnArray):
        _streamed_raising(raw)


def _streamed_raising(raw: bytes) -> list[Any]:
    return list(
        array_items(io.BytesIO(raw), "manifests", max_bytes=1000, max_item_chars=1000, max_depth=32)
    )


def test_a_document_nested_past_what_python_can_parse_is_refused_by_its_depth() -> None:
    raw = b'{"manifests": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}"
    refused = _streamed(raw, max_item_chars=1 << 20)
    assert refused[0] == "refused" and "levels deep" in refused[1], refused


def test_an_element_over_its_bound_is_refused_and_named() -> None:
    raw = b'{"manifests": [{"a": "x"}, {"a": "' + b"x" * 5000 + b'"}]}'
    assert _streamed(raw, max_item_chars=4096) == (
        "refused",
        "index.json is refused: manifests[1] is over 4096 characters, the bound of one",
    )
    other = b'{"manifests": [], "annotations": {"a": "' + b"x" * 5000 + b'"}}'
    assert "the member 'annotations' is over 4096" in _streamed(other, max_item_chars=4096)[1]


def test_a_document_over_its_bound_is_refused(tmp_path: Path) -> None:
    raw = b'{"manifests": [' + b", ".join([b'"' + b"x" * 100 + b'"'] * 100) + b"]}"
    assert _streamed(raw, max_bytes=5000) == (  # a stream: as far as it is read
        "refused",
        "index.json is over 5000 bytes, larger than the 5000-byte bound",
    )
    (tmp_path / "index.json").write_bytes(raw)
    with (tmp_path / "index.json").open("rb") as fh, pytest.raises(MalformedJSON) as refused:
        next(array_items(fh, "manifests", max_bytes=5000, max_item_chars=1000, max_depth=32))
    assert str(refused.value) == f"document is {len(raw)} bytes, larger than the 5000-byte bound"
