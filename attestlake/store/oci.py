"""The OCI records the stores speak in, parsed strictly from untrusted bytes.

Digests (``sha256:<hex>``) and tags with their checks, the media types, the bounds on what is
read, and the records themselves: a content :class:`Descriptor`, an image :class:`Manifest`
used as an artifact manifest (kept with its exact bytes, which its digest is computed from), an
image :class:`Index` (or Docker manifest list) and the OCI 1.1 referrers tag schema. Every
parser refuses what is malformed or over its bound with ContentError.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"

#: Default bounds on what is read from a store (both can be lowered or raised per store).
MAX_BLOB_SIZE = 64 * 1024 * 1024
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
#: Bound on the nesting of a manifest or index (they need 4 levels).
MAX_MANIFEST_DEPTH = 32

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def sha256_digest(data: bytes) -> str:
    """The OCI digest (``sha256:<hex>``) of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(value: object) -> bool:
    """Whether ``value`` is a well-formed sha256 digest (``sha256:`` and 64 lower-case hex
    digits, nothing after them)."""
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a well-formed sha256 digest, else raise ContentError."""
    if not is_digest(digest):
        raise ContentError(f"not a sha256 digest: {digest!r}")
    return digest


def check_tag(tag: str) -> str:
    if not _TAG_RE.match(tag):
        raise ContentError(f"not a valid OCI tag: {tag!r}")
    return tag


def verify_content(data: bytes, digest: str, *, what: str = "content") -> bytes:
    """Return ``data`` if its sha256 is ``digest``; otherwise raise ContentError."""
    actual = sha256_digest(data)
    if actual != check_digest(digest):
        raise ContentError(f"{what} digest mismatch: expected {digest}, got {actual}")
    return data


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Descriptor:
        """Parse a descriptor strictly (untrusted input)."""
        if not isinstance(obj, dict):
            raise ContentError("descriptor is not an object")
        media_type, digest, size = obj.get("mediaType"), obj.get("digest"), obj.get("size")
        annotations = obj.get("annotations") or {}
        if not isinstance(media_type, str) or not isinstance(size, int) or size < 0:
            raise ContentError("descriptor has no valid mediaType/size")
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise ContentError("descriptor annotations must map strings to strings")
        artifact_type = obj.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise ContentError("descriptor artifactType must be a string")
        return cls(media_type, check_digest(str(digest)), size, annotations, artifact_type)

    @classmethod
    def for_bytes(
        cls, media_type: str, data: bytes, annotations: Mapping[str, str] | None = None
    ) -> Descriptor:
        return cls(media_type, sha256_digest(data), len(data), dict(annotations or {}))


EMPTY_CONFIG = Descriptor.for_bytes(EMPTY_MEDIA_TYPE, EMPTY_JSON)


@dataclass(frozen=True)
class Manifest:
    """An OCI image manifest used as an artifact manifest (OCI 1.1 style).

    ``raw`` holds the exact bytes as stored: the manifest digest is always computed from them,
    never from a re-serialisation.
    """

    raw: bytes
    digest: str
    artifact_type: str | None
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str]
    subject: Descriptor | None = None

    @classmethod
    def build(
        cls,
        *,
        artifact_type: str,
        layers: list[Descriptor],
        annotations: Mapping[str, str],
        subject: Descriptor | None = None,
        config: Descriptor = EMPTY_CONFIG,
    ) -> Manifest:
        body: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": artifact_type,
            "config": config.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
        if subject is not None:
            body["subject"] = subject.to_json()
        body["annotations"] = dict(annotations)
        raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return cls.parse(raw)

    @classmethod
    def parse(cls, raw: bytes, digest: str | None = None) -> Manifest:
        """Parse manifest bytes strictly; if ``digest`` is given the bytes must match it."""
        if len(raw) > MAX_MANIFEST_SIZE:
            raise ContentError(f"manifest larger than {MAX_MANIFEST_SIZE} bytes")
        if digest is not None:
            verify_content(raw, digest, what="manifest")
        obj = loads(raw, max_bytes=MAX_MANIFEST_SIZE, max_depth=MAX_MANIFEST_DEPTH, what="manifest")
        return cls._read(raw, obj, digest)

    @classmethod
    def _read(cls, raw: bytes, obj: Any, digest: str | None) -> Manifest:
        """The manifest ``obj`` parsed from ``raw``; ``digest``: the digest ``raw`` was checked
        against, if it was."""
        if not isinstance(obj, dict) or obj.get("schemaVersion") != 2:
            raise ContentError("manifest is not an OCI schemaVersion 2 object")
        if obj.get("mediaType", MANIFEST_MEDIA_TYPE) != MANIFEST_MEDIA_TYPE:
            raise ContentError(f"not an image manifest: {obj.get('mediaType')!r}")
        layers = obj.get("layers")
        if not isinstance(layers, list):
            raise ContentError("manifest has no layers list")
        annotations = obj.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            raise ContentError("manifest annotations must map strings to strings")
        artifact_type = obj.get("artifactType")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise ContentError("manifest artifactType must be a string")
        subject = obj.get("subject")
        return cls(
            raw=raw,
            digest=digest or sha256_digest(raw),
            artifact_type=artifact_type,
            config=Descriptor.from_json(obj.get("config")),
            layers=tuple(Descriptor.from_json(layer) for layer in layers),
            annotations=annotations,
            subject=Descriptor.from_json(subject) if subject is not None else None,
        )

    def descriptor(self) -> Descriptor:
        return Descriptor(
            MANIFEST_MEDIA_TYPE,
            self.digest,
            len(self.raw),
            dict(self.annotations),
            self.artifact_type,
        )


# -- indexes and referrers (OCI 1.1) -------------------------------------------------------
DOCKER_MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_MEDIA_TYPES = (INDEX_MEDIA_TYPE, DOCKER_LIST_MEDIA_TYPE)
_REFERRERS_TAG_RE = re.compile(r"^sha256-[0-9a-f]{64}$")


def referrers_tag(digest: str) -> str:
    """The OCI 1.1 referrers tag schema: ``sha256-<hex>`` names the index of referrers."""
    return check_digest(digest).replace(":", "-")


def is_referrers_tag(tag: str) -> bool:
    return bool(_REFERRERS_TAG_RE.match(tag))


@dataclass(frozen=True)
class Index:
    """An OCI image index (or Docker manifest list): e.g. the referrers of a manifest."""

    raw: bytes
    digest: str
    manifests: tuple[Descriptor, ...]

    @classmethod
    def parse(cls, raw: bytes, digest: str | None = None) -> Index:
        """Parse index bytes strictly; if ``digest`` is given the bytes must match it."""
        if len(raw) > MAX_MANIFEST_SIZE:
            raise ContentError(f"index larger than {MAX_MANIFEST_SIZE} bytes")
        if digest is not None:
            verify_content(raw, digest, what="index")
        obj = loads(raw, max_bytes=MAX_MANIFEST_SIZE, max_depth=MAX_MANIFEST_DEPTH, what="index")
        return cls._read(raw, obj, digest)

    @classmethod
    def _read(cls, raw: bytes, obj: Any, digest: str | None) -> Index:
        """The index ``obj`` parsed from ``raw``; ``digest`` as for :meth:`Manifest._read`."""
        if not isinstance(obj, dict) or obj.get("schemaVersion") != 2:
            raise ContentError("index is not a schemaVersion 2 object")
        if obj.get("mediaType", INDEX_MEDIA_TYPE) not in INDEX_MEDIA_TYPES:
            raise ContentError(f"not an image index: {obj.get('mediaType')!r}")
        manifests = obj.get("manifests")
        if not isinstance(manifests, list):
            raise ContentError("index has no manifests list")
        manifests = tuple(Descriptor.from_json(m) for m in manifests)
        return cls(raw, digest or sha256_digest(raw), manifests)


def parse_any_manifest(raw: bytes, digest: str | None = None) -> Manifest | Index | None:
    """A manifest or an index, by its ``mediaType``; None for other kinds (Docker v2 images),
    which never carry attestations. ContentError when the bytes are malformed."""
    if digest is not None:
        verify_content(raw, digest, what="manifest")
    obj = loads(raw, max_bytes=MAX_MANIFEST_SIZE, max_depth=MAX_MANIFEST_DEPTH, what="manifest")
    if not isinstance(obj, dict):
        raise ContentError("manifest is not a JSON object")
    media_type = obj.get("mediaType")
    if media_type in INDEX_MEDIA_TYPES or (media_type is None and "manifests" in obj):
        return Index._read(raw, obj, digest)
    if media_type in (None, MANIFEST_MEDIA_TYPE):
        return Manifest._read(raw, obj, digest)
    return None
