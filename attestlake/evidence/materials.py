"""Materials: the pieces of evidence an attestation records, each validated by its kind.

A material is given as a value (a file path, an image reference or a string). Files are read
once, bounded in size, parsed according to their kind (an SBOM must really be an SBOM: see
:mod:`attestlake.evidence.material_formats`) and recorded by sha256 digest; their bytes are pushed to
the store as content-addressed blobs. :mod:`attestlake.evidence.detect` says what kind a value
names.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attestlake.errors import MaterialError

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


def read_file(value: str) -> bytes:
    """The bytes of the regular file ``value`` (bounded in size); MaterialError naming it."""
    if "\0" in value:
        raise MaterialError(f"{value!r}: no such file (a file name has no NUL byte)")
    path = Path(value)
    try:
        mode, size = (found := path.stat()).st_mode, found.st_size
        if stat.S_ISDIR(mode):
            raise MaterialError(f"{value}: a directory, not a file")
        if not stat.S_ISREG(mode):
            raise MaterialError(f"{value}: not a regular file")
        if size > MAX_MATERIAL_SIZE:
            raise MaterialError(f"{value}: {size} bytes, over the {MAX_MATERIAL_SIZE}-byte bound")
        return path.read_bytes()
    except FileNotFoundError:
        raise MaterialError(f"{value}: no such file") from None
    except PermissionError:
        raise MaterialError(f"{value}: permission denied") from None
    except OSError as exc:  # a name too long, a loop of links
        raise MaterialError(f"{value}: cannot read: {exc.strerror or exc}") from None


#: Every material kind a contract may name: Chainloop's material types
#: (``CraftingSchema.Material.MaterialType``), each a name only, so that reading a contract
#: imports no format's reader.
MATERIAL_KINDS = frozenset(
    {
        *("STRING", "CONTAINER_IMAGE", "ARTIFACT", "SBOM_CYCLONEDX_JSON", "SBOM_SPDX_JSON"),
        *("JUNIT_XML", "OPENVEX", "HELM_CHART", "SARIF", "EVIDENCE", "ATTESTATION", "CSAF_VEX"),
        *("CSAF_INFORMATIONAL_ADVISORY", "CSAF_SECURITY_ADVISORY"),
        *("CSAF_SECURITY_INCIDENT_RESPONSE", "GITLAB_SECURITY_REPORT", "ZAP_DAST_ZIP"),
        *("BLACKDUCK_SCA_JSON", "TWISTCLI_SCAN_JSON", "GHAS_CODE_SCAN", "GHAS_SECRET_SCAN"),
        *("GHAS_DEPENDENCY_SCAN", "JACOCO_XML", "SLSA_PROVENANCE", "CHAINLOOP_RUNNER_CONTEXT"),
        *("CHAINLOOP_PR_INFO", "GITLEAKS_JSON", "CHAINLOOP_AI_AGENT_CONFIG"),
        *("CHAINLOOP_AI_CODING_SESSION", "OPENAPI_SPEC", "ASYNCAPI_SPEC", "GRAPHQL_SPEC"),
        *("YELP_DETECT_SECRETS_BASELINE", "SYSINTERNALS_SIGCHECK", "SYSINTERNALS_ACCESSCHK"),
        *("CERTCC_DRANZER", "OSSF_SCORECARD_JSON", "RADAMSA_REPORT", "RADAMSA_CRASHES"),
        *("TRUFFLEHOG_JSON", "COBERTURA_XML", "CHECKMARX_JSON"),
    }
)
#: The kinds that are files: each has a reader in
#: :data:`attestlake.evidence.material_formats.FILE_FORMATS`, imported when a file is read.
FILE_KINDS = MATERIAL_KINDS - {"CONTAINER_IMAGE", "STRING"}


def read_material(
    name: str,
    kind: str,
    value: str,
    *,
    output: bool = False,
    annotations: Mapping[str, str] | None = None,
    resolve_image: Callable[[str], str] | None = None,
) -> tuple[Material, bytes | None]:
    """Validate ``value`` as a material of ``kind``; return it and the file bytes, if any.

    ``resolve_image`` turns an image reference without a digest into one with its digest
    (:func:`attestlake.store.images.resolve_image`); without it such a reference is refused.
    """
    annotations = dict(annotations or {})
    if kind not in MATERIAL_KINDS:
        raise MaterialError(
            f"unknown material kind {kind!r}; one of: {', '.join(sorted(MATERIAL_KINDS))}"
        )
    if kind == "STRING":
        return Material(name, kind, value, output=output, annotations=annotations), None
    if kind == "CONTAINER_IMAGE":
        match = _IMAGE_RE.match(value)
        if not match and resolve_image is not None and "@" not in value:
            value = resolve_image(value)
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
    if "://" in value and not Path(value).exists():
        raise MaterialError(
            f"{value}: a {kind} is a local file, not a reference to fetch (for a chart in a "
            "registry: 'helm pull' it and add the .tgz)"
            if kind == "HELM_CHART"
            else f"{value}: a {kind} is a local file, not a URL to fetch"
        )
    from attestlake.evidence.material_formats import FILE_FORMATS  # the readers, for a file
    from attestlake.store.oci import sha256_digest

    media_type, validate = FILE_FORMATS[kind]
    data = read_file(value)
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
