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
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Referrer:
    """One referrer to push: its ``artifactType``, its layers (descriptor and bytes) and the
    annotations of its manifest."""

    artifact_type: str
    documents: tuple[tuple[Descriptor, bytes], ...]
    annotations: Mapping[str, str]


def attach(
    store: Store,
    image: ImageRef,
    documents: Sequence[tuple[Descriptor, bytes]],
    *,
    artifact_type: str,
    annotations: Mapping[str, str],
) -> str:
    """Push ``documents`` as one referrer of ``image``; return the referrer manifest digest."""
    [digest] = attach_all(store, image, [Referrer(artifact_type, tuple(documents), annotations)])
    return digest


def attach_all(store: Store, image: ImageRef, referrers: Sequence[Referrer]) -> list[str]:
    """Push each of ``referrers`` as a referrer of ``image`` (the same bytes give the same
    manifest, so pushing again adds nothing); return their manifest digests, in order. Without
    the referrers API, the referrers index is read and written once for all of them."""
    subject = manifest_descriptor(image, store)
    repo = open_repository(image, store)
    untracked: list[Descriptor] = []
    try:
        repo.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
        manifests = []
        for referrer in referrers:
            for desc, data in referrer.documents:
                repo.put_blob(data, desc.media_type)
            manifest = Manifest.build(
                artifact_type=referrer.artifact_type,
                layers=[desc for desc, _ in referrer.documents],
                annotations=referrer.annotations,
                subject=Descriptor(subject.media_type, subject.digest, subject.size),
            )
            if not repo.put_referrer(manifest):  # no referrers API: keep the tag schema
                untracked.append(manifest.descriptor())
            manifests.append(manifest.digest)
        if untracked:
            _add_to_referrers_index(repo, subject.digest, untracked)
    finally:
        repo.close()
    return manifests


def _referrers_index(repo: RegistryStore, tag: str) -> dict[str, Any]:
    """The referrers index ``tag`` as a JSON object (an empty one if there is no such tag);
    StoreError when the tag names something else, which is never overwritten."""
    refusal = f"{tag} in {repo.ref} is not an OCI image index; not overwriting it"
    try:
        found = repo.get_any_manifest(tag)
    except NotFound:
        return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
    except ContentError as exc:
        raise StoreError(f"{refusal} ({exc})") from None
    if not isinstance(found, Index):
        raise StoreError(refusal)
    body = loads(found.raw, max_bytes=MAX_MANIFEST_SIZE, max_depth=MAX_MANIFEST_DEPTH)
    if body.get("mediaType") != INDEX_MEDIA_TYPE:
        raise StoreError(refusal)
    return dict(body)


def _add_to_referrers_index(
    repo: RegistryStore, subject_digest: str, referrers: Sequence[Descriptor]
) -> None:
    """Add ``referrers`` to the subject's referrers index after what it already lists, each
    digest once. Whatever else the index holds (other tools' entries, fields attestlake does
    not read) is kept as it was; an index that lists them all already is not written again."""
    tag = referrers_tag(subject_digest)
    body = _referrers_index(repo, tag)
    listed = {entry["digest"] for entry in body["manifests"]}  # Index.parse checked them
    added = []
    for referrer in referrers:
        if referrer.digest not in listed:
            listed.add(referrer.digest)
            added.append(referrer.to_json())
    if not added:
        return
    body["manifests"] = [*body["manifests"], *added]
    repo.put_index(json.dumps(body, sort_keys=True, separators=(",", ":")).encode(), tag)
