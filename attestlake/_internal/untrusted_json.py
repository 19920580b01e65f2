"""The one reader of untrusted JSON: bounded in size and depth, strict, unambiguous.

Everything read from a store, a registry or a file someone else wrote goes through
:func:`loads`. Python's :func:`json.loads` reads what other parsers refuse or read differently
(of two equal keys the last wins; ``NaN``; a lone ``\\udcff`` escape, which no UTF-8 text can
hold; UTF-16 input) and recurses once per nesting level, so one hostile document could crash a
whole batch or be read differently from what another tool verified. Here such a document is
refused with :class:`MalformedJSON`, before any of it is used:

- its size is checked first, then it is decoded as strict UTF-8 (no byte order mark);
- its nesting depth is measured by scanning the text, without recursion;
- a key that appears twice in one object, ``NaN``/``Infinity``, a number longer than
  :data:`MAX_NUMBER_LENGTH` characters or beyond a 64-bit float, and a lone surrogate escape
  are refused.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate, count
from operator import add, sub
from typing import Any

from attestlake.errors import ContentError

#: Default bound on nesting: arrays and objects inside one another.
MAX_DEPTH = 128
#: Bound on the characters of one number literal.
MAX_NUMBER_LENGTH = 100

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
#: Opening brackets count 2, closing ones 0: the running sum minus the position is the depth.
_WEIGHTS = str.maketrans({"[": "\x02", "{": "\x02", "]": "\x00", "}": "\x00"})
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: Why a document holding a lone surrogate escape is refused.
LONE_SURROGATE = (
    "it holds a lone UTF-16 surrogate escape (such as \\udcff), which no UTF-8 text can hold"
)


class MalformedJSON(ContentError, ValueError):
    """Untrusted bytes are not JSON that attestlake reads; the message says why."""


class Refused(Exception):
    """A reason to refuse, raised from inside the parser's hooks."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = ""
        for key, _ in pairs:
            if key in seen:
                twice = key
                break
            seen.add(key)
        raise Refused(twice_message(twice))
    return obj


def twice_message(key: str) -> str:
    """Why an object in which ``key`` appears twice is refused."""
    return (
        f"the key {_show(key)} appears twice in one object (parsers disagree on which one counts)"
    )


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise Refused(f"a number of {len(text)} characters, over {MAX_NUMBER_LENGTH}")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_LENGTH:
        raise Refused(f"a number of {len(text)} characters, over {MAX_NUMBER_LENGTH}")
    value = float(text)
    if not math.isfinite(value):
        raise Refused(f"the number {text[:40]} is beyond a 64-bit float")
    return value


def _constant(name: str) -> Any:
    raise Refused(f"{name} is not a JSON value")


class _StrictDecoder(json.JSONDecoder):
    """Python's decoder with hooks that refuse what :func:`loads` refuses while parsing."""

    def __init__(self) -> None:
        super().__init__(
            object_pairs_hook=_object,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )


def _show(key: str) -> str:
    text = repr(key)  # ASCII-safe for surrogates
    return text if len(text) <= 80 else text[:77] + "..."


def depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (exact for JSON; never recurses)."""
    outside = _STRING.sub("", text)
    brackets = _NOT_BRACKET.sub("", outside)
    if brackets.count("[") + brackets.count("{") <= 1:
        return brackets.count("[") + brackets.count("{")
    weights = brackets.translate(_WEIGHTS).encode("ascii")
    return int(max(map(sub, accumulate(weights, add), count(1))))


def strict_decoder() -> json.JSONDecoder:
    """A decoder whose hooks raise :class:`Refused` for what :func:`loads` refuses while
    parsing (a key twice, ``NaN``, over-long or infinite numbers); the size, depth and
    surrogate checks are its caller's. One per reader: it is not shared between threads."""
    return _StrictDecoder()


def has_lone_surrogate(text: str, value: Any) -> bool:
    """Whether ``value``, parsed from ``text``, holds a lone surrogate escape (``\\udcff``)."""
    if not _SURROGATE_ESCAPE.search(text):
        return False  # strict UTF-8 decoding already refused encoded surrogates
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(
    raw: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH, what: str = "document"
) -> Any:
    """The JSON value in ``raw``, or :class:`MalformedJSON` naming ``what`` and the reason."""
    if len(raw) > max_bytes:
        raise MalformedJSON(f"{what} is {len(raw)} bytes, larger than the {max_bytes}-byte bound")
    if isinstance(raw, str):
        text = raw
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedJSON(f"{what} is not JSON: it holds a lone surrogate") from None
    else:
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJSON(
                f"{what} is not JSON: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
    nested = depth(text)
    if nested > max_depth:
        raise MalformedJSON(f"{what} is nested {nested} levels deep, over the bound of {max_depth}")
    try:
        value = json.loads(text, cls=_StrictDecoder)
    except Refused as exc:
        raise MalformedJSON(f"{what} is refused: {exc}") from None
    except RecursionError:
        raise MalformedJSON(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise MalformedJSON(f"{what} is not JSON: {exc}") from None
    if has_lone_surrogate(text, value):
        raise MalformedJSON(f"{what} is refused: {LONE_SURROGATE}")
    return value


__all__ = [
    "LONE_SURROGATE",
    "MAX_DEPTH",
    "MAX_NUMBER_LENGTH",
    "MalformedJSON",
    "Refused",
    "depth",
    "has_lone_surrogate",
    "loads",
    "strict_decoder",
    "twice_message",
]
