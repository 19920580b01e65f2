"""Materials: the pieces of evidence an attestation records, each validated by its kind.

A material is given as a value (a file path, an image reference or a string). Files are read
once, bounded in size, parsed according to their kind (an SBOM must really be an SBOM) and
recorded by sha256 digest; their bytes are pushed to the store as content-addressed blobs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attestlake.errors import MaterialError
from attestlake.store.interface import sha256_digest

MAX_MATERIAL_SIZE = 256 * 1024 * 1024

_IMAGE_RE = re.compile(
    r"^(?P<name>(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?@(?P<digest>sha256:[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Material:
    """A validated material as recorded in the attestation."""

    name: str
    kind: str
    value: str
    digest: str | None = None
    media_type: str | None = None
    size: int | None = None
    output: bool = False
    annotations: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_file(self) -> bool:
        return self.kind in FILE_KINDS

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.kind, "output": self.output}
        if self.kind in FILE_KINDS:
            out["filename"] = Path(self.value).name
        else:
            out["value"] = self.value
        if self.digest:
            out["digest"] = {"sha256": self.digest.split(":", 1)[1]}
        if self.media_type:
            out["mediaType"] = self.media_type
        if self.size is not None:
            out["size"] = self.size
        out["annotations"] = dict(sorted(self.annotations.items()))
        out["details"] = dict(self.details)
        return out


def _read_file(value: str) -> bytes:
    path = Path(value)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise MaterialError(f"{value}: not a regular file")
        if size > MAX_MATERIAL_SIZE:
            raise MaterialError(f"{value}: {size} bytes, over the {MAX_MATERIAL_SIZE}-byte bound")
        return path.read_bytes()
    except FileNotFoundError:
        raise MaterialError(f"{value}: no such file") from None
    except PermissionError:
        raise MaterialError(f"{value}: permission denied") from None


def _json(data: bytes, value: str, kind: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MaterialError(f"{value}: a {kind} must be JSON, and this is not ({exc})") from None


def _cyclonedx(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "SBOM_CYCLONEDX_JSON")
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        hint = (
            " (it looks like SPDX: use SBOM_SPDX_JSON)"
            if isinstance(doc, dict) and "spdxVersion" in doc
            else ""
        )
        raise MaterialError(f"{value}: not a CycloneDX JSON SBOM (no bomFormat: CycloneDX){hint}")
    components = doc.get("components") or []
    if not isinstance(components, list):
        raise MaterialError(f"{value}: CycloneDX 'components' must be a list")
    main = (doc.get("metadata") or {}).get("component") or {}
    if not isinstance(main, dict):
        main = {}
    hashes = {
        h.get("alg"): h.get("content") for h in main.get("hashes") or [] if isinstance(h, dict)
    }
    return {
        "format": "CycloneDX",
        "specVersion": str(doc.get("specVersion", "")),
        "components": len(components),
        "mainComponent": {
            "name": main.get("name"),
            "version": main.get("version"),
            "purl": main.get("purl"),
            "sha256": hashes.get("SHA-256"),
        },
    }


def _spdx(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "SBOM_SPDX_JSON")
    if not isinstance(doc, dict) or not str(doc.get("spdxVersion", "")).startswith("SPDX-"):
        hint = (
            " (it looks like CycloneDX: use SBOM_CYCLONEDX_JSON)"
            if isinstance(doc, dict) and doc.get("bomFormat")
            else ""
        )
        raise MaterialError(f"{value}: not an SPDX JSON SBOM (no spdxVersion){hint}")
    packages = doc.get("packages") or []
    return {
        "format": "SPDX",
        "specVersion": doc["spdxVersion"],
        "components": len(packages) if isinstance(packages, list) else 0,
        "mainComponent": {"name": doc.get("name"), "version": None, "purl": None, "sha256": None},
    }


def _sarif(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "SARIF")
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise MaterialError(f"{value}: not a SARIF log (no 'runs' list)")
    return {"format": "SARIF", "version": str(doc.get("version", "")), "runs": len(doc["runs"])}


def _openvex(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "OPENVEX")
    if not isinstance(doc, dict) or "openvex" not in str(doc.get("@context", "")):
        raise MaterialError(f"{value}: not an OpenVEX document (no openvex @context)")
    statements = doc.get("statements") or []
    return {
        "format": "OpenVEX",
        "statements": len(statements) if isinstance(statements, list) else 0,
    }


def _slsa(data: bytes, value: str) -> dict[str, Any]:
    doc = _json(data, value, "SLSA_PROVENANCE")
    if not isinstance(doc, dict) or not ("payloadType" in doc or "mediaType" in doc):
        raise MaterialError(f"{value}: not a DSSE envelope or Sigstore bundle")
    return {"format": "DSSE" if "payloadType" in doc else "SigstoreBundle"}


def _junit(data: bytes, value: str) -> dict[str, Any]:
    head = data[:4096].lstrip()
    if not head.startswith(b"<") or b"<!DOCTYPE" in data[:65536].upper():
        raise MaterialError(
            f"{value}: not a JUnit XML file (or it has a DOCTYPE, which is refused)"
        )
    if b"<testsuite" not in data:
        raise MaterialError(f"{value}: not a JUnit XML file (no <testsuite>)")
    return {"format": "JUnit"}


def _none(data: bytes, value: str) -> dict[str, Any]:
    return {}


_FILE_VALIDATORS: dict[str, tuple[str, Callable[[bytes, str], dict[str, Any]]]] = {
    "ARTIFACT": ("application/octet-stream", _none),
    "EVIDENCE": ("application/octet-stream", _none),
    "SBOM_CYCLONEDX_JSON": ("application/vnd.cyclonedx+json", _cyclonedx),
    "SBOM_SPDX_JSON": ("application/spdx+json", _spdx),
    "SARIF": ("application/sarif+json", _sarif),
    "OPENVEX": ("application/openvex+json", _openvex),
    "SLSA_PROVENANCE": ("application/vnd.dsse.envelope.v1+json", _slsa),
    "JUNIT_XML": ("application/xml", _junit),
}
FILE_KINDS = frozenset(_FILE_VALIDATORS)
#: Every material kind a contract may name.
MATERIAL_KINDS = frozenset({*FILE_KINDS, "CONTAINER_IMAGE", "STRING"})


def read_material(
    name: str,
    kind: str,
    value: str,
    *,
    output: bool = False,
    annotations: Mapping[str, str] | None = None,
) -> tuple[Material, bytes | None]:
    """Validate ``value`` as a material of ``kind``; return it and the file bytes, if any."""
    annotations = dict(annotations or {})
    if kind not in MATERIAL_KINDS:
        raise MaterialError(
            f"unknown material kind {kind!r}; one of: {', '.join(sorted(MATERIAL_KINDS))}"
        )
    if kind == "STRING":
        return Material(name, kind, value, output=output, annotations=annotations), None
    if kind == "CONTAINER_IMAGE":
        match = _IMAGE_RE.match(value)
        if not match:
            raise MaterialError(
                f"{value!r} is not an image reference with a digest (expected NAME@sha256:<64 hex>)"
            )
        details = {"repository": match["name"], "tag": match["tag"]}
        return (
            Material(
                name,
                kind,
                value,
                digest=match["digest"],
                output=output,
                annotations=annotations,
                details=details,
            ),
            None,
        )
    media_type, validate = _FILE_VALIDATORS[kind]
    data = _read_file(value)
    details = validate(data, value)
    material = Material(
        name,
        kind,
        value,
        digest=sha256_digest(data),
        media_type=media_type,
        size=len(data),
        output=output,
        annotations=annotations,
        details=details,
    )
    return material, data
