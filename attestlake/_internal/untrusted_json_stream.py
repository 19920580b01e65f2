"""Untrusted JSON read as a stream: the elements of one array of a large object, one by one.

:func:`array_items` reads a document such as an OCI layout's ``index.json`` (an object whose
``manifests`` array may hold a million entries) in memory bounded by one element: the file in
chunks of :data:`CHUNK` bytes, each element of the array parsed on its own and handed over,
never the whole document. It refuses what :func:`~attestlake._internal.untrusted_json.loads`
refuses, with the same messages: a document over ``max_bytes``, text that is not strict
UTF-8 (or starts with a byte order mark), nesting deeper than ``max_depth`` (the object and the
array count as levels), a key twice in one object (the outer object's too), ``NaN``, over-long
or infinite numbers, a lone surrogate escape, anything after the object. Besides, each element
and each other member of the object is bounded by ``max_item_chars`` characters.

A refusal can come after elements were handed over (the damage is further on): a caller that
must not act on part of a damaged document reads it through once before using it.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from attestlake._internal.untrusted_json import (
    LONE_SURROGATE,
    MalformedJSON,
    Refused,
    depth,
    has_lone_surrogate,
    strict_decoder,
    twice_message,
)

#: Bytes read from the file at a time.
CHUNK = 1024 * 1024
#: How far past the place it names the decoder may have looked to report an error that more
#: text could have avoided (``Infinity``, a ``\\uXXXX`` escape, a number cut by the chunk).
_LOOKAHEAD = 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class NotAnArray(MalformedJSON):
    """The document is not an object whose member ``key`` is an array (it may be JSON)."""


def array_items(
    fh: BinaryIO,
    key: str,
    *,
    max_bytes: int,
    max_item_chars: int,
    max_depth: int,
    what: str = "document",
) -> Iterator[Any]:
    """The elements of the array ``key`` of the JSON object in ``fh``, read from where ``fh``
    is, one at a time. :class:`MalformedJSON` names ``what`` and why the document is refused;
    :class:`NotAnArray` when it is not an object with that array. OSError as ``fh`` raises it."""
    reader = _Reader(fh, max_bytes, max_depth, what)
    if reader.peek() == "\ufeff":
        raise reader.not_json("Unexpected UTF-8 BOM (decode using utf-8-sig)")
    first = reader.peek()
    if first != "{":
        if first and first in '["-0123456789tfn':
            raise NotAnArray(f"{what} is not a JSON object")
        raise reader.not_json("Expecting value")
    reader.pos += 1
    keys: set[str] = set()
    found = False
    if reader.peek() == "}":
        reader.pos += 1
    else:
        while True:
            if reader.peek() != '"':
                raise reader.not_json("Expecting property name enclosed in double quotes")
            member = reader.value(max_item_chars, 1, "a key")
            if member in keys:
                raise MalformedJSON(f"{what} is refused: {twice_message(member)}")
            keys.add(member)
            if reader.peek() != ":":
                raise reader.not_json("Expecting ':' delimiter")
            reader.pos += 1
            if member == key and reader.peek() == "[":
                reader.pos += 1
                found = True
                yield from _elements(reader, key, max_item_chars)
            else:
                reader.value(max_item_chars, 1, f"the member {member!r}")
            if reader.peek() == ",":
                reader.pos += 1
                continue
            if reader.peek() != "}":
                raise reader.not_json("Expecting ',' delimiter")
            reader.pos += 1
            break
    if reader.peek():
        raise reader.not_json("Extra data")
    if not found:
        raise NotAnArray(f"{what} has no array {key!r}")


def _elements(reader: _Reader, key: str, max_chars: int) -> Iterator[Any]:
    """The elements of the array whose ``[`` the reader has just passed, and its ``]``."""
    if reader.peek() == "]":
        reader.pos += 1
        return
    n = 0
    while True:
        yield reader.value(max_chars, 2, f"{key}[{n}]")
        n += 1
        if reader.peek() == ",":
            reader.pos += 1
            continue
        if reader.peek() != "]":
            raise reader.not_json("Expecting ',' delimiter")
        reader.pos += 1
        return


class _Reader:
    """The document's text from the element being read on, a chunk at a time."""

    def __init__(self, fh: BinaryIO, max_bytes: int, max_depth: int, what: str) -> None:
        self.fh, self.max_bytes, self.max_depth, self.what = fh, max_bytes, max_depth, what
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.json = strict_decoder()
        self.text = ""
        self.pos = 0
        self.eof = False
        self.read = 0  # bytes read
        self.dropped = 0  # characters before text[0], already read
        self.lines = 0  # newlines among them
        self.last_newline = -1  # where the last of them was
        try:
            size = os.fstat(fh.fileno()).st_size
        except (AttributeError, OSError, ValueError):
            size = 0  # not a file: bounded as it is read
        if size > max_bytes:
            raise MalformedJSON(f"{what} is {size} bytes, larger than the {max_bytes}-byte bound")

    def more(self) -> None:
        """Read the next chunk (the end of the file, when there is none), dropping the text
        before the position."""
        chunk = self.fh.read(CHUNK)
        self.read += len(chunk)
        if self.read > self.max_bytes:
            raise MalformedJSON(
                f"{self.what} is over {self.max_bytes} bytes, larger than the "
                f"{self.max_bytes}-byte bound"
            )
        pending = len(self.decoder.getstate()[0])
        try:
            new = self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            at = self.read - len(chunk) - pending + exc.start
            raise MalformedJSON(
                f"{self.what} is not JSON: not UTF-8 text ({exc.reason} at byte {at})"
            ) from None
        self.eof = not chunk
        newlines = self.text.count("\n", 0, self.pos)
        if newlines:
            self.lines += newlines
            self.last_newline = self.dropped + self.text.rindex("\n", 0, self.pos)
        self.dropped += self.pos
        self.text = self.text[self.pos :] + new
        self.pos = 0

    def peek(self) -> str:
        """The next character that is not whitespace, or "" at the end of the document."""
        char = self.text[self.pos : self.pos + 1]
        if char and char not in " \t\n\r":
            return char  # compact JSON: no whitespace to skip
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos : self.pos + 1]
            self.more()

    def value(self, max_chars: int, outer: int, name: str) -> Any:
        """The JSON value ``name`` at the position (after whitespace), the position moved
        past it: at most ``max_chars`` characters, inside ``outer`` levels of the document."""
        levels = self.max_depth - outer
        self.peek()
        while True:
            start = self.pos
            try:
                value, end = self.json.raw_decode(self.text, start)
            except Refused as exc:
                if not self.eof and len(self.text) - start <= max_chars:
                    self.more()  # a number cut by the chunk: refused for what it is whole
                    continue
                raise MalformedJSON(f"{self.what} is refused: {exc}") from None
            except RecursionError:
                raise MalformedJSON(
                    f"{self.what} is nested more than {self.max_depth} levels deep, over the bound"
                ) from None
            except json.JSONDecodeError as exc:
                cut = not self.eof and (
                    exc.pos >= len(self.text) - _LOOKAHEAD
                    or exc.msg.startswith("Unterminated string")
                )
                if not cut:
                    raise self.not_json(exc.msg, exc.pos) from None
                if len(self.text) - start > max_chars:
                    raise self.too_long(name, max_chars) from None
                self.more()
                continue
            if end > len(self.text) - _LOOKAHEAD and not self.eof:  # a number may go on
                self.more()
                continue
            break
        if end - start > max_chars:
            raise self.too_long(name, max_chars)
        if self.text.count("[", start, end) + self.text.count("{", start, end) > levels:
            nested = depth(self.text[start:end])
            if nested > levels:
                raise MalformedJSON(
                    f"{self.what} is nested {nested + outer} levels deep, over the bound of "
                    f"{self.max_depth}"
                )
        if has_lone_surrogate(self.text[start:end], value):
            raise MalformedJSON(f"{self.what} is refused: {LONE_SURROGATE}")
        self.pos = end
        return value

    def too_long(self, name: str, max_chars: int) -> MalformedJSON:
        return MalformedJSON(
            f"{self.what} is refused: {name} is over {max_chars} characters, the bound of one"
        )

    def not_json(self, message: str, pos: int | None = None) -> MalformedJSON:
        """Refused as Python's decoder says it, placed in the whole document."""
        at = self.pos if pos is None else pos
        newlines = self.text.count("\n", 0, at)
        line = self.lines + newlines + 1
        last = self.dropped + self.text.rindex("\n", 0, at) if newlines else self.last_newline
        where = self.dropped + at
        return MalformedJSON(
            f"{self.what} is not JSON: {message}: line {line} column {where - last} (char {where})"
        )


__all__ = ["CHUNK", "NotAnArray", "array_items"]
