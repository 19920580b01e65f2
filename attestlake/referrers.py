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
from typing import Any

from attestlake.errors import ContentError, StoreError
from attestlake.images import ImageRef, manifest_descriptor, open_repository
from attestlake.store import Descriptor, Manifest, Store
from attestlake.store.interface import (
    EMPTY_JSON,
    EMPTY_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    MAX_MANIFEST_SIZE,
    check_digest,
)


def referrers_tag(digest: str) -> str:
    """``sha256:<hex>`` -> ``sha256-<hex>``: the tag of the referrers index (OCI 1.1)."""
    return check_digest(digest).replace(":", "-")


def attach(
    store: Store,
    image: ImageRef,
    documents: Sequence[tuple[Descriptor, bytes]],
    *,
    artifact_type: str,
    annotations: Mapping[str, str],
) -> str:
    """Push ``documents`` as one referrer of ``image``; return the referrer manifest digest."""
    from attestlake.store.registry import RegistryStore

    subject = manifest_descriptor(image, store)
    repo = open_repository(image, store)
    assert isinstance(repo, RegistryStore)
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
        with repo._request(
            "PUT",
            f"manifests/{manifest.digest}",
            what=f"referrer of {image}",
            ok=(201,),
            data=manifest.raw,
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
        ) as resp:
            indexed_by_registry = bool(resp.headers.get("OCI-Subject"))
        if not indexed_by_registry:
            _add_to_referrers_index(repo, subject.digest, manifest.descriptor())
    finally:
        repo.close()
    return manifest.digest


def _add_to_referrers_index(repo: Any, subject_digest: str, referrer: Descriptor) -> None:
    tag = referrers_tag(subject_digest)
    what = f"referrers index {tag}"
    with repo._request(
        "GET",
        f"manifests/{tag}",
        what=what,
        ok=(200, 404),
        headers={"Accept": INDEX_MEDIA_TYPE},
    ) as resp:
        raw = resp.content if resp.status_code == 200 else None
    manifests: list[dict[str, Any]] = []
    if raw is not None:
        if len(raw) > MAX_MANIFEST_SIZE:
            raise ContentError(f"{what} is over the {MAX_MANIFEST_SIZE}-byte bound")
        try:
            index = json.loads(raw)
        except ValueError:
            raise StoreError(f"{what} in {repo.ref} is not JSON; not overwriting it") from None
        if not isinstance(index, dict) or index.get("mediaType") != INDEX_MEDIA_TYPE:
            raise StoreError(f"{tag} in {repo.ref} is not an OCI image index; not overwriting it")
        manifests = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
    if any(m.get("digest") == referrer.digest for m in manifests):
        return
    manifests.append(referrer.to_json())
    body = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": manifests}
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    repo._request(
        "PUT",
        f"manifests/{tag}",
        what=what,
        ok=(201,),
        data=data,
        headers={"Content-Type": INDEX_MEDIA_TYPE},
    ).close()
