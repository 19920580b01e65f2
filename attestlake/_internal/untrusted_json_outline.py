"""The outline of untrusted JSON text: its brackets and colons outside the strings.

The strict reader (:mod:`attestlake._internal.untrusted_json`) measures how deeply a document
nests before it parses it, and counts the members of its objects (one ``:`` each, outside the
strings) to tell a key twice. Both need only the brackets and colons outside the strings, and
:func:`outline` finds them with a few passes of byte operations instead of a regular expression
over every character:

- every byte but quotes, brackets and colons is taken away, then every two quotes with nothing
  between them (an empty string, or the end of one string and the start of the next): what is
  left between the remaining quotes is the brackets and colons inside strings. This holds when
  every ``"`` opens or closes a string: when no backslash escapes a quote or another backslash.
  A text with ``\\\\"`` or ``\\\\\\\\`` is outlined by the regular expression the reader has
  always used;
- the depth is the number of times the adjacent pairs of an opening and a closing bracket can
  be taken away until none is left (each time takes the innermost level away); brackets that
  do not pair up, and nesting over :data:`QUICK_LEVELS`, are counted one by one as before.

The figures are exact for any text, JSON or not (the byte operations see the same characters as
the regular expression: in UTF-8, no byte of a multi-byte character is a quote, a backslash, a
bracket or a colon).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate, count
from operator import add, sub

#: Nesting measured by taking away its innermost level, at most this many times (each time is
#: a pass over the brackets); deeper nesting is counted bracket by bracket, in one pass.
QUICK_LEVELS = 48

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_MARKS = b"[]{}:"
_NOT_MARKS = bytes(b for b in range(256) if b not in _MARKS + b'"')
_ONLY_MARKS = bytes(b for b in range(256) if b not in _MARKS)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: Brackets of both kinds as one kind: "(" opens, ")" closes.
_PARENS = bytes.maketrans(b"[{]}", b"(())")
#: Opening brackets count 2, closing ones 0: the running sum minus the position is the depth.
_WEIGHTS = bytes.maketrans(b"()", b"\x02\x00")


@dataclass(frozen=True)
class Outline:
    """What the brackets and colons outside the strings of a text say."""

    depth: int  # how deeply arrays and objects nest
    members: int  # the ``:`` outside the strings: in JSON, the members of all its objects


def _outside_marks(text: str, data: bytes) -> bytes:
    """The brackets and colons of ``text`` (``data``: its UTF-8) outside its strings."""
    if b"\\" not in data or (b'\\"' not in data and b"\\\\" not in data):
        marks = data.translate(None, _NOT_MARKS).replace(b'""', b"")
        parts = marks.split(b'"')
        if len(parts) % 2:  # every quote opens or closes a string
            return b"".join(parts[::2])
    outside = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    return outside.translate(None, _ONLY_MARKS)


def _depth(marks: bytes) -> int:
    """How deeply the brackets among ``marks`` nest."""
    brackets = marks.translate(_PARENS, _NOT_BRACKETS)
    opening = brackets.count(b"(")
    if opening <= 1:
        return opening
    left, levels = brackets, 0
    while left and levels < QUICK_LEVELS:
        inner = left.replace(b"()", b"")
        if len(inner) == len(left):
            break  # brackets that do not pair up
        left, levels = inner, levels + 1
    if not left:
        return levels
    weights = brackets.translate(_WEIGHTS)
    return int(max(map(sub, accumulate(weights, add), count(1))))


def outline(text: str, data: bytes | None = None) -> Outline:
    """The outline of ``text`` (``data``: its UTF-8, when the caller has it)."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    marks = _outside_marks(text, data)
    return Outline(_depth(marks), marks.count(b":"))


__all__ = ["QUICK_LEVELS", "Outline", "outline"]
