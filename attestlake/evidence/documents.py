"""Reading a material file as the document its kind says it is (JSON, YAML or XML), bounded,
with a :class:`~attestlake.errors.MaterialError` that names the file and the kind.

The format parsers (:mod:`attestlake.evidence.material_formats` and its siblings) read through
these, so that every kind refuses what it cannot read the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

import yaml

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake._internal.untrusted_xml import MalformedXML
from attestlake._internal.untrusted_xml import parse as parse_xml
from attestlake._internal.untrusted_yaml import compose_bounded
from attestlake.errors import MaterialError

#: A format's parser: (file bytes, the value given) -> the details the attestation records;
#: MaterialError when the file is not what its kind says.
Parser = Callable[[bytes, str], dict[str, Any]]
#: Bound on a YAML material (an API specification): parsing YAML builds a tree per node.
MAX_YAML_BYTES = 16 * 1024 * 1024


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def text_or_none(value: Any) -> str | None:
    """``value`` as a string when it is a string or a number, else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)


def json_document(data: bytes, value: str, kind: str) -> Any:
    """The JSON value of ``data``; MaterialError when it is not JSON."""
    try:
        return loads(data, max_bytes=len(data), what=f"{value}: a {kind}")
    except MalformedJSON as exc:
        raise MaterialError(f"{exc}; a {kind} must be JSON") from None


def json_object(data: bytes, value: str, kind: str, what: str) -> dict[str, Any]:
    """The JSON object of ``data``; MaterialError naming ``what`` it should be otherwise."""
    doc = json_document(data, value, kind)
    if not isinstance(doc, dict):
        raise MaterialError(f"{value}: not {what} (a JSON {_shape(doc)}, not an object)")
    return doc


def _shape(doc: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(doc), "number"
    )


def yaml_or_json_document(data: bytes, value: str, kind: str) -> Any:
    """The value of ``data`` read as JSON when it starts like JSON, else as YAML (bounded in
    size, depth and aliases); MaterialError when it is neither."""
    if data.lstrip()[:1] in (b"{", b"["):
        return json_document(data, value, kind)
    if len(data) > MAX_YAML_BYTES:
        raise MaterialError(f"{value}: {len(data)} bytes, over the {MAX_YAML_BYTES}-byte bound")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MaterialError(f"{value}: not UTF-8 text; a {kind} is YAML or JSON") from None
    try:
        _, doc = compose_bounded(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MaterialError(f"{value}: not YAML or JSON{where}: {problem}; a {kind}") from None
    return doc


def xml_root(data: bytes, value: str, kind: str, *, doctype: bool = False) -> Element:
    """The root element of ``data``; MaterialError when it is not XML (or declares an entity,
    or a DTD unless ``doctype`` allows a document type naming an external DTD, which is
    never fetched)."""
    if not data[:4096].lstrip().startswith(b"<"):
        raise MaterialError(f"{value}: not an XML document; a {kind} is XML")
    try:
        return parse_xml(data, what=f"{value}: {kind}", external_doctype=doctype)
    except MalformedXML as exc:
        raise MaterialError(str(exc)) from None
