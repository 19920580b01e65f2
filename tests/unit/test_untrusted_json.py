"""The strict reader of untrusted JSON refuses, reads and measures every text as it does when
it parses with all its hooks and measures the depth with a regular expression: outlining a
text with byte operations and parsing it without the object hook change nothing but the time
it takes."""

from __future__ import annotations

import json
import re
from itertools import accumulate, count
from operator import add, sub
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestlake._internal.untrusted_json import (
    LONE_SURROGATE,
    MAX_NUMBER_LENGTH,
    MalformedJSON,
    Refused,
    depth,
    has_lone_surrogate,
    loads,
    strict_decoder,
)
from attestlake._internal.untrusted_json_outline import QUICK_LEVELS, outline

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _outside(text: str) -> str:
    return _STRING.sub("", text)


def _regex_depth(text: str) -> int:
    """The depth as the reader measured it with regular expressions alone."""
    brackets = re.sub(r"[^\[\]{}]+", "", _outside(text))
    opening = brackets.count("[") + brackets.count("{")
    if opening <= 1:
        return opening
    weights = brackets.translate(str.maketrans("[{]}", "\x02\x02\x00\x00")).encode("ascii")
    return int(max(map(sub, accumulate(weights, add), count(1))))


def _hooked(raw: bytes | str, max_depth: int = 128, what: str = "document") -> Any:
    """``loads`` as it was: the depth by regular expressions, every hook while parsing."""
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return (
                "refused",
                f"{what} is not JSON: not UTF-8 text ({exc.reason} at byte {exc.start})",
            )
    nested = _regex_depth(text)
    if nested > max_depth:
        return ("refused", f"{what} is nested {nested} levels deep, over the bound of {max_depth}")
    try:
        value = json.loads(text, cls=type(strict_decoder()))
    except Refused as exc:
        return ("refused", f"{what} is refused: {exc}")
    except RecursionError:
        return ("refused", f"{what} is nested too deeply")
    except ValueError as exc:
        return ("refused", f"{what} is not JSON: {exc}")
    if has_lone_surrogate(text, value):
        return ("refused", f"{what} is refused: {LONE_SURROGATE}")
    return ("read", value)


def _read(raw: bytes | str, max_depth: int = 128) -> Any:
    try:
        return ("read", loads(raw, max_bytes=1 << 24, max_depth=max_depth))
    except MalformedJSON as exc:
        return ("refused", str(exc))


DOCUMENTS = [
    b'{"a": 1, "b": [true, false, null, -0.5, 1.5e3, "x"], "c": {"d": {}}}',
    b'{"s": "brackets [[{{ and colons ::: in a string", "t": ["]]", "}"]}',
    b'{"s": "an escaped quote \\" [[ and a backslash \\\\", "t": [[1]]}',
    b'{"s": "\\\\", "t": "[\\\\\\"]", "u": [[[]]]}',
    b'{"path": "C:\\\\dir\\\\[x]", "n": {"m": [1, {"o": 2}]}}',
    b'{"unicode": "\xc3\xa9t\xc3\xa9 \xe2\x80\x9c[\xe2\x80\x9d", "k": [{"\xc3\xa9": 1}]}',
    b'["a", "b", {"": ""}, [], {}]',
    b'""',
    b'"lone',
    b'{"a": "b"',
    b'{"a" "b"}',
    b'{"a": 1,}',
    b"[1, 2",
    b"x",
    b"",
    b"\xef\xbb\xbf{}",
    b'{"a": "\xff"}',
    b'{"a": "\x01"}',
    # refused by the hooks, wherever they are
    b'{"a": 1, "a": 2}',
    b'{"x": [{"k": {"a": 1, "b": 2, "a": 3}}]}',
    b'{"a": {"x": 1}, "b": {"x": 1}, "a": {}}',
    b'{"a": 1, "b": {"a": 1, "a": 1}, "z": NaN}',
    b'{"z": NaN, "b": {"a": 1, "a": 1}}',
    b'{"n": [1, 2, Infinity]}',
    b'{"n": -Infinity}',
    b'{"n": 1e999}',
    b'{"n": -1E400}',
    b'{"n": 1' + b"0" * MAX_NUMBER_LENGTH + b"}",
    b'{"n": 0.' + b"0" * MAX_NUMBER_LENGTH + b"1}",
    b'{"n": 1' + b"0" * (MAX_NUMBER_LENGTH - 2) + b"}",
    b'{"s": "\\udcff"}',
    b'{"s": "\\ud83d\\ude00"}',
    b'{"a": 1, "a": 2, "s": "\\" [[[["}',
    b'{"s": "NaN Infinity 1e999 \\"a\\": 1, \\"a\\": 2"}',
    # hostile nesting: balanced, unbalanced, mixed, inside and outside strings
    b"[" * 129 + b"]" * 129,
    b"[" * 128 + b"]" * 128,
    b"{" * 40 + b"[" * 100 + b"]" * 100 + b"}" * 40,
    b"[" * 200_000 + b"]" * 200_000,
    b"[" * 200_000,
    b"]" * 100 + b"[" * 300,
    b"[]" * 50_000,
    b"[" * 300 + b"]" * 100,
    b'["' + b"[" * 5000 + b'"]',
    b'["\\"' + b"[" * 5000 + b'"]',
    b'["\\\\"' + b"[" * 500 + b"]" * 500 + b"]",
    b'"' + b"[" * 500 + b"]" * 500,
    b'{"a": ' + b"[" * (QUICK_LEVELS + 1) + b"]" * (QUICK_LEVELS + 1) + b"}",
    b'{"a": ' + b"[" * QUICK_LEVELS + b"]" * QUICK_LEVELS + b"}",
    b"[[]]][[",
    b"][",
    b"]][[",
]


@pytest.mark.parametrize("raw", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_every_document_is_read_or_refused_as_with_every_hook(raw: bytes) -> None:
    assert _read(raw) == _hooked(raw)
    assert _read(raw, max_depth=1_000_000) == _hooked(raw, max_depth=1_000_000)


@pytest.mark.parametrize("raw", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_the_depth_and_the_members_are_those_outside_the_strings(raw: bytes) -> None:
    text = raw.decode("utf-8", "replace")
    shape = outline(text)
    assert shape.depth == depth(text) == _regex_depth(text)
    assert shape.members == _outside(text).count(":")


def test_a_key_twice_is_refused_however_deep_and_wherever_the_other_members_are() -> None:
    doc = {"k": [{"x": {"y": [{"a": 1, "b": 2}]}}], "z": "s"}
    text = json.dumps(doc).replace('"b": 2', '"b": 2, "a": 3')
    with pytest.raises(MalformedJSON, match="the key 'a' appears twice"):
        loads(text, max_bytes=1000)


def test_nesting_far_past_the_bound_is_measured_without_recursion_and_refused() -> None:
    raw = b'{"a": "' + b"]" * 10 + b'", "b": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
    with pytest.raises(MalformedJSON, match="nested 1000001 levels deep, over the bound of 128"):
        loads(raw, max_bytes=len(raw))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab"\\[]{}:,\xe9\u201c \n')),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(alphabet=st.sampled_from('ab"\\[]:'), max_size=3), inner, max_size=4
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, database=None)
@given(_JSON, st.data())
def test_any_json_and_any_damage_to_it_is_read_as_with_every_hook(value: Any, data: Any) -> None:
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    assert _read(text) == _hooked(text)
    # a member repeated, a byte changed, taken away or put in: JSON or not, the same answer
    if isinstance(value, dict) and value:
        key = json.dumps(next(iter(value)))
        twice = text.replace("{", "{" + key + ": 0, ", 1)
        assert _read(twice) == _hooked(twice)
    raw = bytearray(text.encode("utf-8"))
    where = data.draw(st.integers(0, len(raw)))
    byte = data.draw(st.sampled_from(b'"\\[]{}:,0eEN1 x'))
    damage = data.draw(st.sampled_from(["change", "cut", "insert"]))
    if damage == "change" and where < len(raw):
        raw[where] = byte
    elif damage == "cut":
        del raw[where : where + 1]
    else:
        raw.insert(where, byte)
    assert _read(bytes(raw)) == _hooked(bytes(raw))
    assert _read(bytes(raw), max_depth=2) == _hooked(bytes(raw), max_depth=2)
