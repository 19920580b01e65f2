"""API specifications: OpenAPI (and Swagger 2.0) and AsyncAPI, in YAML or JSON.

- ``OPENAPI_SPEC``: ``openapi: 3.x`` (or ``swagger: "2.0"``) with ``info.title``,
  ``info.version`` and ``paths`` (from 3.1: ``paths``, ``webhooks`` or ``components``);
- ``ASYNCAPI_SPEC``: ``asyncapi: 2.x or 3.x`` with ``info.title`` and ``info.version``.

YAML is read with the bounded safe loader (no tag builds an object, nesting and aliases are
bounded: :mod:`attestlake._internal.untrusted_yaml`).
"""

from __future__ import annotations

import re
from typing import Any

from attestlake.errors import MaterialError
from attestlake.evidence.documents import Parser, obj, text_or_none, yaml_or_json_document

_OPENAPI_RE = re.compile(r"^3\.[0-9]+(\.[0-9]+)?$")
#: From OpenAPI 3.1 a document needs one of these (3.0 and Swagger 2.0: paths).
_OPENAPI_31_TOP = ("paths", "webhooks", "components")
_ASYNCAPI_RE = re.compile(r"^[23]\.[0-9]+\.[0-9]+$")


def _info(doc: dict[str, Any], value: str, what: str) -> dict[str, Any]:
    info = obj(doc.get("info"))
    if not isinstance(info.get("title"), str) or text_or_none(info.get("version")) is None:
        raise MaterialError(f"{value}: {what} needs info.title and info.version")
    return info


def openapi(data: bytes, value: str) -> dict[str, Any]:
    kind = "OPENAPI_SPEC"
    doc = obj(yaml_or_json_document(data, value, kind))
    version = text_or_none(doc.get("openapi")) or ""
    swagger = text_or_none(doc.get("swagger"))
    if swagger is not None and swagger != "2.0":
        raise MaterialError(f"{value}: Swagger {swagger!r}; only Swagger 2.0 is that format")
    if swagger is None and not _OPENAPI_RE.match(version):
        hint = " (it looks like AsyncAPI: use ASYNCAPI_SPEC)" if "asyncapi" in doc else ""
        raise MaterialError(
            f"{value}: not an OpenAPI document (no 'openapi: 3.x' or 'swagger: \"2.0\"'){hint}"
        )
    info = _info(doc, value, "an OpenAPI document")
    paths = doc.get("paths")
    needs = ("paths",) if swagger or version.startswith("3.0") else _OPENAPI_31_TOP
    if not any(isinstance(doc.get(field), dict) for field in needs):
        raise MaterialError(
            f"{value}: an OpenAPI {swagger or version} document needs {' or '.join(needs)}"
        )
    return {
        "format": "Swagger" if swagger else "OpenAPI",
        "specVersion": swagger or version,
        "title": info["title"][:256],
        "version": str(text_or_none(info.get("version")))[:64],
        "paths": len(paths) if isinstance(paths, dict) else 0,
        "operations": sum(
            1
            for item in (paths.values() if isinstance(paths, dict) else ())
            for method in obj(item)
            if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace")
        ),
    }


def asyncapi(data: bytes, value: str) -> dict[str, Any]:
    kind = "ASYNCAPI_SPEC"
    doc = obj(yaml_or_json_document(data, value, kind))
    version = text_or_none(doc.get("asyncapi")) or ""
    if not _ASYNCAPI_RE.match(version):
        hint = " (it looks like OpenAPI: use OPENAPI_SPEC)" if "openapi" in doc else ""
        raise MaterialError(f"{value}: not an AsyncAPI document (no 'asyncapi: 2.x or 3.x'){hint}")
    info = _info(doc, value, "an AsyncAPI document")
    return {
        "format": "AsyncAPI",
        "specVersion": version,
        "title": info["title"][:256],
        "version": str(text_or_none(info.get("version")))[:64],
        "channels": len(obj(doc.get("channels"))),
        "operations": len(obj(doc.get("operations"))),
    }


API_SPEC_FORMATS: dict[str, tuple[str, Parser]] = {
    "OPENAPI_SPEC": ("application/vnd.oai.openapi", openapi),
    "ASYNCAPI_SPEC": ("application/vnd.aai.asyncapi", asyncapi),
}
