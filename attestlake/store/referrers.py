"""Attaching signed statements to a container image as OCI 1.1 referrers.

The referrer is an artifact manifest in the image's repository whose ``subject`` is the image
manifest, so ``oras discover`` and ``cosign tree`` find it. A registry with the referrers API
says so with the ``OCI-Subject`` header when the manifest is pushed; for the many without it
(distribution 2.8, for one) the client keeps the referrers tag schema up to date: the image
index tagged ``sha256-<hex of the image digest>`` lists every referrer's descriptor
(``artifactType`` and annotations included), as cosign and oras do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError, NotFound, StoreError
from attestlake.store import Descriptor, Manifest, Store
from attestlake.store.images import ImageRef, manifest_descriptor, open_repository
from attestlake.store.oci import (
    EMPTY_JSON,
    EMPTY_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    MAX_MANIFEST_DEPTH,
    MAX_MANIFEST_SIZE,
    Index,
    referrers_tag,
)
from attestlake.store.registry import RegistryStore


def attach(
    store: Store,
    image: ImageRef,
    documents: Sequence[tuple[Descriptor, bytes]],
    *,
    artifact_type: str,
    annotations: Mapping[str, str],
) -> str:
    """Push ``documents`` as one referrer of ``image``; return the referrer manifest digest."""
    subject = manifest_descriptor(image, store)
    repo = open_repository(image, store)
    try:
        repo.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
        for desc, data in documents:
            repo.put_blob(data, desc.media_type)
        manifest = Manifest.build(
            artifact_type=artifact_type,
            layers=[desc for desc, _ in documents],
            annotations=annotations,
            subject=Descriptor(subject.media_type, subject.digest, subject.size),
        )
        if not repo.put_referrer(manifest):  # no referrers API: keep the tag schema up to date
            _add_to_referrers_index(repo, subject.digest, manifest.descriptor())
    finally:
        repo.close()
    return manifest.digest


def _media_type(raw: bytes) -> object:
    """The ``mediaType`` of an index already parsed (so it is a JSON object)."""
    return loads(raw, max_bytes=MAX_MANIFEST_SIZE, max_depth=MAX_MANIFEST_DEPTH).get("mediaType")


def _referrers_index(repo: RegistryStore, tag: str) -> list[Descriptor]:
    """The descriptors listed by the referrers index ``tag`` (none if there is no such tag);
    StoreError when the tag names something else, which is never overwritten."""
    refusal = f"{tag} in {repo.ref} is not an OCI image index; not overwriting it"
    try:
        found = repo.get_any_manifest(tag)
    except NotFound:
        return []
    except ContentError as exc:
        raise StoreError(f"{refusal} ({exc})") from None
    if not isinstance(found, Index) or _media_type(found.raw) != INDEX_MEDIA_TYPE:
        raise StoreError(refusal)
    return list(found.manifests)


def _add_to_referrers_index(repo: RegistryStore, subject_digest: str, referrer: Descriptor) -> None:
    tag = referrers_tag(subject_digest)
    manifests = _referrers_index(repo, tag)
    if any(m.digest == referrer.digest for m in manifests):
        return
    body = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [m.to_json() for m in [*manifests, referrer]],
    }
    repo.put_index(json.dumps(body, sort_keys=True, separators=(",", ":")).encode(), tag)
