"""Canonical JSON as securesystemslib and in-toto sign it (the OLPC dialect): object keys
sorted, no whitespace, strings escaped only for ``"`` and ``\\``, integers only.

It is what in-toto metablock links are signed over, and what securesystemslib hashes into a
key's id (:func:`attestlake.signing.keys.securesystemslib_keyid`). Not RFC 8785.
"""

from __future__ import annotations

from typing import Any

from attestlake.errors import ContentError


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _encode(value: Any, out: list[str]) -> None:
    if value is True or value is False or value is None:
        out.append({True: "true", False: "false", None: "null"}[value])
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value)):
            if not isinstance(key, str):
                raise ContentError("canonical JSON object keys are strings")
            if i:
                out.append(",")
            out.append(_string(key) + ":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise ContentError(
            f"canonical JSON has no {type(value).__name__} (only strings, integers, booleans, "
            "null, lists and objects)"
        )


def encode_canonical(value: Any) -> bytes:
    """``value`` in canonical JSON, UTF-8; ContentError for a float or another type."""
    out: list[str] = []
    _encode(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise ContentError("canonical JSON text is not valid UTF-8 (lone surrogate)") from None
