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

What the strict reader must look at closely lies mostly outside the strings, and a document
is outlined first (:mod:`attestlake._internal.untrusted_json_outline`): its depth, the members
of its objects, and whether anything there needs the parser's hooks. When nothing does,
Python's parser reads it without them, and a key twice shows as fewer members in the objects
read than in the text; the document is then read again with the hooks, which say why it is
refused. Either way, the same documents are refused, in the same words.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from attestlake._internal.untrusted_json_outline import outline
from attestlake.errors import ContentError

#: Default bound on nesting: arrays and objects inside one another.
MAX_DEPTH = 128
#: Bound on the characters of one number literal.
MAX_NUMBER_LENGTH = 100

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


class _NumbersDecoder(json.JSONDecoder):
    """Python's decoder with the hooks that refuse ``NaN`` and over-long or infinite numbers
    (called only for the few floats, constants and integers of a document)."""

    def __init__(self) -> None:
        super().__init__(parse_int=_int, parse_float=_float, parse_constant=_constant)


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
    return outline(text).depth


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
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedJSON(f"{what} is not JSON: it holds a lone surrogate") from None
    else:
        data = bytes(raw)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJSON(
                f"{what} is not JSON: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
    shape = outline(text, data)
    if shape.depth > max_depth:
        raise MalformedJSON(
            f"{what} is nested {shape.depth} levels deep, over the bound of {max_depth}"
        )
    value = _plainly(text, shape.members)
    if value is _UNREAD:
        value = _strictly(text, what)
    if has_lone_surrogate(text, value):
        raise MalformedJSON(f"{what} is refused: {LONE_SURROGATE}")
    return value


#: What :func:`_plainly` returns for a text it leaves to :func:`_strictly`.
_UNREAD = object()


def _plainly(text: str, members: int) -> Any:
    """``text`` read without the hook that builds every object from its list of members (in
    Python, called once per object), when its objects then hold all its ``members``: no key
    appears twice. Else :data:`_UNREAD`, also for text that is not JSON or refused by the
    number hooks (:func:`_strictly` says why, in its own words)."""
    try:
        value = json.loads(text, cls=_NumbersDecoder)
    except (Refused, ValueError, RecursionError):
        return _UNREAD
    return value if _members(value) == members else _UNREAD


def _members(value: Any) -> int:
    """The members of all the objects in ``value``, without recursion."""
    total = 0
    stack: list[Any] = [value] if type(value) is dict or type(value) is list else []
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if type(item) is dict:
            total += len(item)
        for inner in item.values() if type(item) is dict else item:
            if type(inner) is dict or type(inner) is list:
                push(inner)
    return total


def _strictly(text: str, what: str) -> Any:
    """``text`` read with the hooks that refuse a key twice, ``NaN``, over-long or infinite
    numbers (its size, encoding and depth already checked)."""
    try:
        return json.loads(text, cls=_StrictDecoder)
    except Refused as exc:
        raise MalformedJSON(f"{what} is refused: {exc}") from None
    except RecursionError:
        raise MalformedJSON(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise MalformedJSON(f"{what} is not JSON: {exc}") from None


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
