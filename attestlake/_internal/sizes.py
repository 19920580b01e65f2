"""Sizes in words: ``1048576``, ``512k``, ``32M``, ``1GiB`` (binary units)."""

from __future__ import annotations

import re

from attestlake.errors import InputError


def parse_size(text: str, name: str = "") -> int:
    """Bytes from ``1048576``, ``512k``, ``32M``, ``1GiB`` (binary units); InputError if not,
    beginning with ``name`` (the option it was given to) when there is one."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", text.lower())
    if not match or int(match[1]) <= 0:
        where = f"{name}: " if name else ""
        raise InputError(f"{where}not a size: {text!r} (examples: 1048576, 512K, 32M, 1G)")
    exponent: int = " kmg".index(match[2] or " ")
    return int(match[1]) << (10 * exponent)
