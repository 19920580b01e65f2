"""Attaching a run's signed statements to the images they name, in cosign's bundle layout.

Each signed statement becomes its own OCI 1.1 referrer of every output image among its
subjects that is in the store's registry, laid out as cosign's bundle specification
(``specs/BUNDLE_SPEC.md``) says, so that ``cosign verify-attestation``, ``gh attestation verify
--bundle-from-oci``, Kyverno and ``oras discover --artifact-type`` find it:

- ``artifactType`` :data:`BUNDLE_MEDIA_TYPE` (``application/vnd.dev.sigstore.bundle.v0.3+json``),
  the OCI empty config;
- exactly one layer of that media type: the statement's Sigstore bundle v0.3
  (:mod:`attestlake.signing.bundle_form`; keyless as Sigstore made it, key-signed with the key
  id as ``publicKey.hint``);
- annotations ``dev.sigstore.bundle.content: dsse-envelope``,
  ``dev.sigstore.bundle.predicateType`` (the statement's), and the run record's
  (``org.opencontainers.image.created``, ``dev.attestlake.run-id``, ``workflow``, ...).

The referrer is made from the record's bytes only, so attaching the same record again pushes
the same manifests: a registry without the referrers API keeps one descriptor per bundle in its
``sha256-<hex>`` index (:mod:`attestlake.store.referrers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from attestlake.evidence.materials import Material
from attestlake.signing.bundle_form import as_bundle
from attestlake.signing.signing import BUNDLE_MEDIA_TYPE
from attestlake.store import Descriptor, Store

if TYPE_CHECKING:
    from attestlake.store.referrers import Referrer

BUNDLE_CONTENT = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_TYPE = "dev.sigstore.bundle.predicateType"
#: The run record's annotations a referrer does not copy (it says its own predicate type).
_NOT_COPIED = frozenset({"dev.attestlake.predicate-type"})


@dataclass(frozen=True)
class SignedDocument:
    """A signed statement as the record holds it, and the statement it signs."""

    media_type: str
    data: bytes
    statement: Mapping[str, Any]

    def names(self, digest: str) -> bool:
        """Whether ``digest`` (``sha256:<hex>``) is the digest of one of the subjects."""
        algorithm, _, value = digest.partition(":")
        subjects = self.statement.get("subject")
        return isinstance(subjects, list) and any(
            isinstance(s, dict) and isinstance(s.get("digest"), dict)
            and s["digest"].get(algorithm) == value
            for s in subjects
        )  # fmt: skip


def referrer_annotations(
    record_annotations: Mapping[str, str], predicate_type: str
) -> dict[str, str]:
    """The annotations of the referrer of a statement of ``predicate_type``."""
    kept = {k: v for k, v in record_annotations.items() if k not in _NOT_COPIED}
    return {**kept, BUNDLE_CONTENT: "dsse-envelope", BUNDLE_PREDICATE_TYPE: predicate_type}


def bundle_referrer(document: SignedDocument, record_annotations: Mapping[str, str]) -> Referrer:
    """The referrer of one signed statement."""
    from attestlake.store.referrers import Referrer  # the registry client, on first use

    bundle = as_bundle(document.media_type, document.data)
    predicate_type = str(document.statement.get("predicateType", ""))
    return Referrer(
        BUNDLE_MEDIA_TYPE,
        ((Descriptor.for_bytes(BUNDLE_MEDIA_TYPE, bundle), bundle),),
        referrer_annotations(record_annotations, predicate_type),
    )


def attach_to_images(
    store: Store,
    images: Sequence[Material],
    documents: Sequence[SignedDocument],
    record_annotations: Mapping[str, str],
) -> list[str]:
    """Attach each of ``documents`` to each of ``images`` it names (in the store's registry);
    return the references of the images that got referrers."""
    from attestlake.store.images import parse_image, same_registry
    from attestlake.store.referrers import attach_all

    out = []
    for material in images:
        image = parse_image(material.value)
        digest = (image.digest if image else None) or material.digest
        if image is None or not digest or not same_registry(image, store):
            continue
        named = [d for d in documents if d.names(digest)]
        if named:
            attach_all(store, image, [bundle_referrer(d, record_annotations) for d in named])
            out.append(str(image))
    return out
