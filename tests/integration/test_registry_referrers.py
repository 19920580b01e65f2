"""Attaching statements to an image as OCI 1.1 referrers, through RegistryStore's public
methods (head_manifest, put_referrer, put_index), against a real registry."""

from __future__ import annotations

import uuid

import pytest

from attestlake.errors import NotFound, StoreError
from attestlake.store import Descriptor, Manifest
from attestlake.store.images import manifest_descriptor, parse_image
from attestlake.store.oci import (
    EMPTY_JSON,
    EMPTY_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    Index,
    referrers_tag,
)
from attestlake.store.referrers import attach
from attestlake.store.registry import RegistryStore
from tests import assets
from tests.integration.collector_helpers import push_image
from tests.integration.registry_server import RegistryServer

pytestmark = pytest.mark.registry

STATEMENT = assets.path("envelopes/dsse-empty-statement-unsigned.json").read_bytes()
DSSE = "application/vnd.dsse.envelope.v1+json"


def test_head_manifest_describes_tags_and_digests(registry: RegistryServer) -> None:
    repository = f"referrers/{uuid.uuid4().hex[:8]}"
    digest = push_image(registry.url, repository, "1.0")
    repo = RegistryStore(registry.url, repository)
    by_tag, by_digest = repo.head_manifest("1.0"), repo.head_manifest(digest)
    assert by_tag == by_digest
    assert (by_tag.media_type, by_tag.digest) == (MANIFEST_MEDIA_TYPE, digest)
    assert by_tag.size == len(repo.get_manifest(digest).raw)
    with pytest.raises(NotFound):
        repo.head_manifest("2.0")
    image = parse_image(f"{registry.host}/{repository}:1.0")
    assert image is not None
    assert manifest_descriptor(image) == by_tag


def test_attach_keeps_the_referrers_tag_schema_up_to_date(registry: RegistryServer) -> None:
    repository = f"referrers/{uuid.uuid4().hex[:8]}"
    digest = push_image(registry.url, repository, "1.0")
    store = RegistryStore(registry.url, f"{repository}-attestations")
    image = parse_image(f"{registry.host}/{repository}@{digest}")
    assert image is not None
    documents = [(Descriptor.for_bytes(DSSE, STATEMENT), STATEMENT)]
    first = attach(store, image, documents, artifact_type="application/x.a", annotations={"n": "1"})
    second = attach(store, image, documents, artifact_type="application/x.b", annotations={})
    again = attach(store, image, documents, artifact_type="application/x.a", annotations={"n": "1"})
    assert again == first  # the same referrer is listed once

    repo = RegistryStore(registry.url, repository)
    index = repo.get_any_manifest(referrers_tag(digest))
    assert isinstance(index, Index)
    assert [(d.digest, d.artifact_type) for d in index.manifests] == [
        (first, "application/x.a"),
        (second, "application/x.b"),
    ]
    assert index.manifests[0].annotations == {"n": "1"}
    assert [d.digest for d in repo.referrers(digest)] == [first, second]
    referrer = repo.get_manifest(first)
    assert referrer.subject is not None and referrer.subject.digest == digest


def test_a_tag_that_is_not_a_referrers_index_is_never_overwritten(
    registry: RegistryServer,
) -> None:
    repository = f"referrers/{uuid.uuid4().hex[:8]}"
    digest = push_image(registry.url, repository, "1.0")
    repo = RegistryStore(registry.url, repository)
    # Someone tagged an image manifest with the referrers tag of another image.
    repo.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    squatter = Manifest.build(artifact_type="application/x.other", layers=[], annotations={})
    repo.put_manifest(squatter, tag=referrers_tag(digest))
    store = RegistryStore(registry.url, f"{repository}-attestations")
    image = parse_image(f"{registry.host}/{repository}@{digest}")
    assert image is not None
    documents = [(Descriptor.for_bytes(DSSE, STATEMENT), STATEMENT)]
    with pytest.raises(StoreError, match="not an OCI image index; not overwriting it"):
        attach(store, image, documents, artifact_type="application/x.a", annotations={})
    assert repo.resolve(referrers_tag(digest)) == squatter.digest


def test_put_index_refuses_what_is_not_an_index(registry: RegistryServer) -> None:
    repo = RegistryStore(registry.url, f"referrers/{uuid.uuid4().hex[:8]}")
    with pytest.raises(StoreError, match="schemaVersion 2"):
        repo.put_index(b'{"manifests": []}', "sha256-" + "0" * 64)
    raw = b'{"schemaVersion":2,"mediaType":"%s","manifests":[]}' % INDEX_MEDIA_TYPE.encode()
    assert repo.put_index(raw, "empty") == repo.resolve("empty")
