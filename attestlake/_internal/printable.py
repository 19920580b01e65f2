"""Untrusted text made safe to show: control and bidirectional characters as escapes."""

from __future__ import annotations

import re

__all__ = ["printable"]

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text with control and bidirectional characters written as escapes, for a terminal."""

    def sub(m: re.Match[str]) -> str:
        c = m.group(0)
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(
            c, f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
        )

    return _UNSAFE.sub(sub, text)
