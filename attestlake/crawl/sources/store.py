"""One OCI repository as a source: an OCI layout directory or a registry repository.

Every tag is a candidate (attestlake's run manifests, cosign's ``sha256-<hex>.att`` tags, whose
layers are read with the annotations that verify them, contracts and inventories published
with :mod:`attestlake.contracts.publish`, Notation signatures (recorded, not verified), and
anything else: a manifest that carries no attestation yields an empty unit). A tag of the OCI
1.1 referrers
tag schema (``sha256-<hex>``) is an index whose manifests are candidates; where
the registry has the referrers API, the referrers of every tagged manifest are asked for too,
since they need not be tagged. A unit's key is its manifest digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from attestlake.contracts.declaration import MAX_DECLARATION_SIZE
from attestlake.contracts.publish import PREFIX as PUBLISH_PREFIX
from attestlake.contracts.publish import published_kind, revision_tag
from attestlake.crawl.sources.interface import (
    MAX_DOCUMENT_SIZE,
    Candidate,
    Document,
    Published,
    Source,
    Unit,
)
from attestlake.errors import ContentError, Error, NotFound, TransportError
from attestlake.evidence.material_formats import FILE_FORMATS
from attestlake.intoto.cosign_att import is_cosign_layer, layer_document
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.intoto.notation import SIGNATURE_ARTIFACT_TYPE, SIGNATURE_MEDIA_TYPES
from attestlake.store import Descriptor, Manifest, Store
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import Index, is_referrers_tag, sha256_digest
from attestlake.store.reference import store_identity

#: Layers that are attestation documents (verified one by one).
DOCUMENT_MEDIA_TYPES = (
    ENVELOPE_MEDIA_TYPE,
    "application/vnd.in-toto+json",
    "application/vnd.dev.sigstore.bundle",  # prefix: every bundle version and spelling
)
#: Layers kept as evidence a statement may name by digest: the files of the kinds whose
#: content becomes rows (SBOMs, SARIF logs, JUnit XML reports, OpenVEX documents).
EVIDENCE_MEDIA_TYPES = tuple(
    FILE_FORMATS[kind][0]
    for kind in ("SBOM_CYCLONEDX_JSON", "SBOM_SPDX_JSON", "SARIF", "JUNIT_XML", "OPENVEX")
)
#: Bound on the bytes one manifest's documents and evidence hold together, in documents of
#: the largest size allowed: past it, a document is recorded as not read, evidence is left out.
UNIT_DOCUMENTS = 8
#: Layers of one manifest asked for ahead at most (:meth:`StoreSource.warm`).
WARMED_LAYERS = 2 * UNIT_DOCUMENTS


def is_document_layer(media_type: str) -> bool:
    return media_type.startswith(DOCUMENT_MEDIA_TYPES)


def is_notation_signature(manifest: Manifest) -> bool:
    """A Notation signature manifest (by ``artifactType``, or by config media type as Notation
    writes it for registries without OCI 1.1): its signature layers are documents too."""
    return SIGNATURE_ARTIFACT_TYPE in (manifest.artifact_type, manifest.config.media_type)


def _document_layers(manifest: Manifest) -> list[Descriptor]:
    """The layers of ``manifest`` read as documents, in order (a digest may repeat)."""
    notation = is_notation_signature(manifest)
    return [
        layer
        for layer in manifest.layers
        if is_document_layer(layer.media_type)
        or (notation and layer.media_type in SIGNATURE_MEDIA_TYPES)
    ]


def _evidence_layers(manifest: Manifest) -> list[Descriptor]:
    """The layers of ``manifest`` kept as evidence when it holds documents, in order."""
    return [layer for layer in manifest.layers if layer.media_type in EVIDENCE_MEDIA_TYPES]


@dataclass(frozen=True)
class LayoutLoader:
    """Reads the units of an OCI layout directory in any process (it pickles): a worker
    opens the directory once and reads the manifests it is given from there."""

    root: str
    ref: str
    published_ref: str
    max_document_size: int
    max_blob_size: int

    def __call__(self, key: str, source: str) -> Unit:
        return self._opened().load(key, source)

    def warm(self, key: str) -> bool:
        """Have the files of unit ``key`` read into the page cache (:meth:`StoreSource.warm`)."""
        return self._opened().warm(key)

    def _opened(self) -> StoreSource:
        opened = _OPENED.get(self)
        if opened is None:  # a chunk's read-ahead thread may get here at the same time
            store = LayoutStore(Path(self.root), max_blob_size=self.max_blob_size)
            made = StoreSource(store, max_document_size=self.max_document_size)
            made.ref, made.published_ref = self.ref, self.published_ref
            opened = _OPENED.setdefault(self, made)
        return opened


#: The layout directories this process has opened, by their loader.
_OPENED: dict[LayoutLoader, StoreSource] = {}


class StoreSource(Source):
    def __init__(self, store: Store, *, max_document_size: int = MAX_DOCUMENT_SIZE) -> None:
        self.store = store
        self.ref = store.ref
        #: The store as its published revisions name it: a layout directory by its absolute
        #: path, so that whether it is SecOps's store never depends on the directory a later
        #: re-evaluation of the lake runs in.
        self.published_ref = store_identity(self.ref) if self.ref.startswith("oci:") else self.ref
        self.max_document_size = max_document_size
        self.fetch_concurrency = store.fetch_concurrency
        self._warnings: list[str] = []
        self._loader = (
            LayoutLoader(
                str(store.root),
                self.ref,
                self.published_ref,
                max_document_size,
                store.max_blob_size,
            )
            if type(store) is LayoutStore  # a subclass may read otherwise: read it here
            else None
        )

    def warnings(self) -> list[str]:
        return [*self._warnings, *self.store.warnings()]

    def close(self) -> None:
        self.store.close()

    def why_empty(self) -> str:
        return self.store.why_empty()

    def candidates(self) -> Iterator[Candidate]:
        api = None
        for tag, digest in self.store.list_manifests(self.fetch_concurrency):
            if is_referrers_tag(tag):
                yield from self._referrers_index(tag, digest)
                continue
            yield self._candidate(digest, f"{self.ref}:{tag}")
            if api is None:
                api = self.store.has_referrers_api()
            if api:
                for desc in self.store.referrers(digest):
                    yield self._candidate(desc.digest, f"{self.ref}@{digest}")

    def _referrers_index(self, tag: str, digest: str) -> Iterator[Candidate]:
        subject = tag.replace("-", ":", 1)
        try:
            index = self.store.get_any_manifest(digest)
        except (ContentError, NotFound, TransportError) as exc:
            self._warnings.append(f"{self.ref}:{tag}: referrers index unreadable: {exc}")
            return
        if isinstance(index, Index):
            for desc in index.manifests:
                yield self._candidate(desc.digest, f"{self.ref}@{subject}")

    def _candidate(self, digest: str, source: str) -> Candidate:
        return Candidate(digest, source, lambda: self.load(digest, source), self._loader)

    def warm(self, digest: str) -> bool:
        """Unless the manifest ``digest`` is already in the page cache (then True), read it
        and ask the kernel to read the layers :meth:`load` may read (its documents, then its
        evidence) into the page cache, without waiting for them, up to the bytes a unit may
        hold: reading them next then finds them there. A hint for an OCI layout directory: nothing for another store, or
        when anything fails (:meth:`load` reads and checks everything)."""
        store = self.store
        if not isinstance(store, LayoutStore):
            return False
        try:
            if store.in_page_cache(digest):
                return True
            manifest = store.get_any_manifest(digest)
            if not isinstance(manifest, Manifest):
                return False
            budget = UNIT_DOCUMENTS * self.max_document_size
            wanted = {
                layer.digest: min(layer.size, self.max_document_size)
                for layer in [*_document_layers(manifest), *_evidence_layers(manifest)]
            }
            for layer_digest, size in list(wanted.items())[:WARMED_LAYERS]:
                if budget <= 0:
                    break
                store.warm_blob(layer_digest, min(size, budget))
                budget -= size
        except (OSError, Error):
            pass
        return False

    def load(self, digest: str, source: str) -> Unit:
        """The unit of one manifest. StoreError (not ContentError) when the store failed."""
        try:
            manifest = self.store.get_any_manifest(digest)
        except (ContentError, NotFound) as exc:
            return Unit(digest, source, error=f"manifest unreadable: {exc}")
        if not isinstance(manifest, Manifest):
            return Unit(digest, source)  # an index or a Docker image: no attestation in it
        kind = published_kind(manifest)
        if kind is not None:
            return self._published(kind, manifest)
        budget = UNIT_DOCUMENTS * self.max_document_size
        documents: dict[str, Document] = {}
        for layer in _document_layers(manifest):
            if layer.digest not in documents:
                document = self._document(layer.digest, layer.size, budget)
                if is_cosign_layer(layer.media_type, layer.annotations):
                    document = self._cosign_layer(layer, document)
                documents[layer.digest] = document
                budget -= len(document.raw or b"")
        evidence: dict[str, bytes] = {}
        if documents:
            for layer in _evidence_layers(manifest):
                if layer.digest not in evidence:
                    if layer.size > min(self.max_document_size, budget):
                        continue
                    try:
                        evidence[layer.digest] = self.store.get_blob(
                            layer.digest, max_size=min(self.max_document_size, budget)
                        )
                    except (ContentError, NotFound):
                        continue  # evidence that cannot be read is simply not exploded
                    budget -= len(evidence[layer.digest])
        return Unit(digest, source, tuple(documents.values()), evidence)

    def _cosign_layer(self, layer: Descriptor, document: Document) -> Document:
        """A layer of cosign's, as one document with the annotations that verify it (the
        layer's descriptor with its bytes embedded: :mod:`attestlake.intoto.cosign_att`)."""
        if document.raw is None:
            return document
        raw = layer_document(layer.media_type, layer.annotations, document.raw)
        if len(raw) > self.max_document_size:
            return Document(
                layer.digest,
                None,
                f"the layer with its annotations is {len(raw)} bytes, over the "
                f"{self.max_document_size}-byte bound",
            )
        return Document(sha256_digest(raw), raw)

    def _published(self, kind: str, manifest: Manifest) -> Unit:
        """A published contract or inventory: its first layer, the exact file, and its second,
        the signed declaration of it (verified by the crawler, not here)."""
        ann = manifest.annotations
        name = ann.get(PUBLISH_PREFIX + "name", "")
        number = ann.get(PUBLISH_PREFIX + "revision", "")
        revision = int(number) if number.isascii() and number.isdigit() and len(number) < 10 else 0
        source = f"{self.published_ref}:{revision_tag(kind, name, revision)}"
        raw, error, digest = None, None, ""
        declaration = None
        if len(manifest.layers) not in (1, 2) or not name or revision < 1:
            error = (
                f"not a published {kind}: it needs one layer (and a signed declaration), a name "
                "and a revision number"
            )
            source = f"{self.published_ref}@{manifest.digest}"
        else:
            layer = manifest.layers[0]
            digest = layer.digest
            document = self._document(layer.digest, layer.size)
            raw, error = document.raw, document.error
            if len(manifest.layers) == 2:
                declaration = self._declaration(manifest.layers[1])
        created = ann.get("org.opencontainers.image.created", "")
        published = Published(kind, name, revision, digest, created, raw, error, declaration)
        return Unit(manifest.digest, source, published=published)

    def _declaration(self, layer: Descriptor) -> bytes | None:
        """A published document's declaration, if within its bound and readable (else it is
        recorded as unsigned)."""
        if layer.size > MAX_DECLARATION_SIZE:
            return None
        try:
            return self.store.get_blob(layer.digest, max_size=MAX_DECLARATION_SIZE)
        except (ContentError, NotFound):
            return None

    def _document(self, digest: str, size: int, budget: int | None = None) -> Document:
        """The layer ``digest``, read if it is within the document bound and within the
        ``budget`` of bytes its manifest has left."""
        if size > self.max_document_size:
            bound = f"over the {self.max_document_size}-byte bound"
            return Document(digest, None, f"document is {size} bytes, {bound}")
        limit = self.max_document_size if budget is None else min(self.max_document_size, budget)
        if size > limit:
            whole = UNIT_DOCUMENTS * self.max_document_size
            return Document(
                digest, None, f"not read: its manifest's documents are over the {whole}-byte bound"
            )
        try:
            return Document(digest, self.store.get_blob(digest, max_size=limit))
        except (ContentError, NotFound) as exc:
            return Document(digest, None, f"document unreadable: {exc}")
