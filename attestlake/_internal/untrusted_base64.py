"""Standard base64 text read from untrusted documents: strictly, or a clear ContentError."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from attestlake.errors import ContentError


def strict_b64(value: Any, what: str) -> bytes:
    """The bytes ``value`` encodes: a string of standard base64 only (no other characters, no
    missing padding). ContentError naming ``what`` otherwise."""
    if not isinstance(value, str):
        raise ContentError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ContentError(f"{what} is not valid base64") from None
