"""Contracts, inventories and policies published to a store, with immutable revisions and a
moving latest.

A published document is one OCI artifact per revision: an image manifest (artifactType
``application/vnd.attestlake.<kind>.v1+yaml``, ``+sql`` for a policy, empty config) whose one
layer is the exact file. Its annotations say what it is (``dev.attestlake.kind``: ``contract``,
``inventory`` or ``policy``,
``dev.attestlake.name``, ``dev.attestlake.revision``, ``dev.attestlake.digest`` of the file,
``org.opencontainers.image.created``). Tags:

- ``<kind>-<name>.r<N>``: revision N, never moved or overwritten;
- ``<kind>-<name>.latest``: the newest revision, moved by every publish.

Publishing the same bytes again changes nothing. New bytes become the next revision (or the
revision the file declares, or a policy's publisher asks for, if that is higher); a revision
that exists with other bytes is refused. Given a signer, the manifest's second layer is a
signed declaration of the file (:mod:`attestlake.contracts.declaration`), annotated
``dev.attestlake.signer``; crawlers trust only signed declared state (the same bytes published
unsigned before are published again, signed, as the next revision). References to published documents read
``STORE#NAME`` (latest), ``STORE#NAME@N`` (revision N) or ``STORE#NAME@sha256:<hex>`` (the
revision with that file digest); STORE is any store reference (``oci:DIR``, ``HOST/REPO``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from attestlake._internal.durations import iso
from attestlake.contracts.contracts import parse_contract
from attestlake.contracts.declaration import declaration
from attestlake.contracts.model import Contract, contract_changes
from attestlake.errors import NotFound, PublishError
from attestlake.redaction import redact
from attestlake.signing.signing import Signer
from attestlake.store import Descriptor, Manifest, Store, open_store, sha256_digest
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE

KINDS = ("contract", "inventory", "policy")
PREFIX = "dev.attestlake."
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
#: A policy's name is its file's name (a saved query's): '_' is allowed too.
_POLICY_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$")
#: The file type of each kind (its layer's media type suffix and file name extension).
_FILE_TYPES = {"contract": "yaml", "inventory": "yaml", "policy": "sql"}
#: How the publisher asks for a revision, by kind.
_ASK_REVISION = {
    "contract": "set metadata.revision to {n} or remove it",
    "policy": "give --revision {n} or leave it out",
}
_PIN_RE = re.compile(r"^(?P<name>[^@]+)(?:@(?P<pin>[0-9]+|sha256:[0-9a-f]{64}))?$")


def media_type(kind: str) -> str:
    return f"application/vnd.attestlake.{kind}.v1+{_FILE_TYPES.get(kind, 'yaml')}"


def file_name(kind: str, name: str) -> str:
    """The published file's name: ``NAME.yaml``, ``NAME.sql`` for a policy."""
    return f"{name}.{_FILE_TYPES.get(kind, 'yaml')}"


def valid_name(kind: str, name: str) -> bool:
    return bool((_POLICY_NAME_RE if kind == "policy" else _NAME_RE).match(name))


def published_kind(manifest: Manifest) -> str | None:
    """``contract``, ``inventory`` or ``policy`` if ``manifest`` is a published document,
    else None."""
    kind = manifest.annotations.get(PREFIX + "kind", "")
    return kind if kind in KINDS and manifest.artifact_type == media_type(kind) else None


@dataclass(frozen=True)
class Reference:
    """``STORE#NAME[@PIN]``: a published document, its latest or a pinned revision."""

    store: str
    name: str
    revision: int | None = None
    digest: str | None = None

    @property
    def pinned(self) -> bool:
        return self.revision is not None or self.digest is not None

    def __str__(self) -> str:
        pin = f"@{self.revision}" if self.revision is not None else ""
        pin = f"@{self.digest}" if self.digest else pin
        return f"{self.store}#{self.name}{pin}"


def parse_reference(text: str) -> Reference:
    store, sep, rest = text.rpartition("#")
    match = _PIN_RE.match(rest)
    if not sep or not store or match is None or not _POLICY_NAME_RE.match(match["name"]):
        raise PublishError(
            f"not a published reference: {redact(text)!r} (expected STORE#NAME, "
            "STORE#NAME@REVISION or STORE#NAME@sha256:<hex>, e.g. oci:contracts#build or registry.example/secops#build@3)"
        )
    pin = match["pin"]
    if pin and pin.startswith("sha256:"):
        return Reference(store, match["name"], digest=pin)
    return Reference(store, match["name"], revision=int(pin) if pin else None)


@dataclass(frozen=True)
class Revision:
    """One published revision of a document."""

    kind: str
    name: str
    revision: int
    digest: str  # sha256 of the file
    manifest_digest: str
    created: str
    tag: str
    #: Who signed its declaration (``dev.attestlake.signer``), None when unsigned.
    signer: str | None = None


@dataclass(frozen=True)
class PublishResult:
    revision: Revision
    unchanged: bool
    previous: int | None


def revision_tag(kind: str, name: str, revision: int) -> str:
    return f"{kind}-{name}.r{revision}"


def latest_tag(kind: str, name: str) -> str:
    return f"{kind}-{name}.latest"


def _revision(kind: str, manifest: Manifest, tag: str) -> Revision:
    ann = manifest.annotations
    if ann.get(PREFIX + "kind") != kind or len(manifest.layers) not in (1, 2):
        raise PublishError(f"{tag} is not a published {kind}")
    rev = ann.get(PREFIX + "revision", "")
    if not (rev.isascii() and rev.isdigit() and len(rev) < 10):
        raise PublishError(f"{tag} has no revision number")
    return Revision(
        kind,
        ann.get(PREFIX + "name", ""),
        int(rev),
        manifest.layers[0].digest,
        manifest.digest,
        ann.get("org.opencontainers.image.created", ""),
        tag,
        ann.get(PREFIX + "signer") if len(manifest.layers) == 2 else None,
    )


def latest(store: Store, kind: str, name: str) -> Revision | None:
    tag = latest_tag(kind, name)
    try:
        return _revision(kind, store.get_manifest(tag), tag)
    except NotFound:
        return None


def revisions(store: Store, kind: str, name: str | None = None) -> Iterator[Revision]:
    """Every published revision (of ``name``, or of every name), by name then revision."""
    pattern = re.compile(rf"^{kind}-(?P<name>.+)\.r(?P<rev>[0-9]+)$")
    found = sorted(
        (m["name"], int(m["rev"]), tag)
        for tag in store.tags()
        if (m := pattern.match(tag)) and (name is None or m["name"] == name)
    )
    for _, _, tag in found:
        yield _revision(kind, store.get_manifest(tag), tag)


def published_name(store: Store, kind: str) -> str:
    """The name of the one ``kind`` published in ``store``; PublishError if there is none, or
    several (the caller must then be told which)."""
    pattern = re.compile(rf"^{kind}-(?P<name>.+)\.latest$")
    names = sorted({m["name"] for tag in store.tags() if (m := pattern.match(tag))})
    if not names:
        raise PublishError(f"no {kind} is published in {store.ref}")
    if len(names) > 1:
        raise PublishError(
            f"{store.ref} holds {len(names)} {kind} names ({', '.join(names)}): give --name"
        )
    return names[0]


def publish(
    store: Store,
    kind: str,
    name: str,
    raw: bytes,
    *,
    declared_revision: int | None = None,
    now: datetime | None = None,
    signer: Signer | None = None,
) -> PublishResult:
    """Publish ``raw`` as the next revision of ``name`` (nothing changes if it is the latest,
    or the revision ``declared_revision`` asks for, with these bytes), with its declaration
    signed by ``signer``."""
    if kind not in KINDS or not valid_name(kind, name):
        allowed = "'_' and '-'" if kind == "policy" else "and '-'"
        raise PublishError(
            f"cannot publish {kind} {name!r}: names are lower-case, digits {allowed}, at most "
            "63 characters"
        )
    current = latest(store, kind, name)
    digest = sha256_digest(raw)
    if (
        current is not None
        and current.digest == digest
        and (signer is None or current.signer)
        and declared_revision in (None, current.revision)
    ):
        return PublishResult(current, unchanged=True, previous=current.revision)
    number = current.revision + 1 if current else 1
    if declared_revision is not None:
        if declared_revision < number:
            return _republished(store, kind, name, digest, declared_revision, signer, number)
        number = declared_revision
    tag = revision_tag(kind, name, number)
    try:
        store.resolve(tag)
    except NotFound:
        pass
    else:
        raise PublishError(f"{tag} already exists in {store.ref}; revisions are immutable")
    created = iso(now or datetime.now(UTC))
    layers = [
        Descriptor.for_bytes(
            media_type(kind), raw, {"org.opencontainers.image.title": file_name(kind, name)}
        )
    ]
    annotations = {
        "org.opencontainers.image.created": created,
        PREFIX + "kind": kind,
        PREFIX + "name": name,
        PREFIX + "revision": str(number),
        PREFIX + "digest": digest,
    }
    signed = None
    if signer is not None:
        signed = signer.sign_statements([declaration(kind, name, number, digest, created)])[0]
        title = {"org.opencontainers.image.title": f"{name}.declaration.json"}
        layers.append(Descriptor.for_bytes(signed.media_type, signed.data, title))
        annotations[PREFIX + "signer"] = signed.signer
    manifest = Manifest.build(
        artifact_type=media_type(kind), layers=layers, annotations=annotations
    )
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    store.put_blob(raw, media_type(kind))
    if signed is not None:
        store.put_blob(signed.data, signed.media_type)
    store.put_manifest(manifest, tag=tag)
    store.put_manifest(manifest, tag=latest_tag(kind, name))
    revision = Revision(
        kind, name, number, digest, manifest.digest, created, tag, signed.signer if signed else None
    )
    return PublishResult(revision, unchanged=False, previous=current.revision if current else None)


def _republished(
    store: Store,
    kind: str,
    name: str,
    digest: str,
    revision: int,
    signer: Signer | None,
    number: int,
) -> PublishResult:
    """Revision ``revision`` asked for again, below the next one (``number``): unchanged when
    it holds these bytes (signed, if a signer is given); PublishError otherwise."""
    tag = revision_tag(kind, name, revision)
    try:
        existing = _revision(kind, store.get_manifest(tag), tag)
    except NotFound:
        existing = None
    if existing is not None and existing.digest == digest and (signer is None or existing.signer):
        return PublishResult(existing, unchanged=True, previous=number - 1)
    ask = _ASK_REVISION.get(kind, "{n}").format(n=number)
    if existing is not None and existing.digest == digest:
        raise PublishError(
            f"{kind} {name} revision {revision} holds this file unsigned, and revisions never "
            f"change: {ask} to publish it signed as the next revision"
        )
    raise PublishError(
        f"{kind} {name} revision {revision} is already published with other content (latest "
        f"is {number - 1}); revisions never change: {ask} to get the next revision"
    )


def pull(store: Store, kind: str, ref: Reference) -> tuple[Revision, bytes]:
    """The revision ``ref`` names (latest unless pinned) and the exact file bytes."""
    try:
        if ref.digest is not None:
            found = next(
                (r for r in revisions(store, kind, ref.name) if r.digest == ref.digest), None
            )
            if found is None:
                raise NotFound(f"no revision of {kind} {ref.name} has digest {ref.digest}")
            revision = found
        else:
            tag = (
                revision_tag(kind, ref.name, ref.revision)
                if ref.revision is not None
                else latest_tag(kind, ref.name)
            )
            revision = _revision(kind, store.get_manifest(tag), tag)
    except NotFound:
        what = f"revision {ref.revision} of " if ref.revision is not None else ""
        raise PublishError(
            f"{what}{kind} {ref.name} is not published in {store.ref} (see 'attestlake "
            f"{kind} list --from {store.ref}')"
        ) from None
    return revision, store.get_blob(revision.digest)


def open_reference(text: str) -> tuple[Reference, Store]:
    ref = parse_reference(text)
    return ref, open_store(ref.store)


# -- contracts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PulledContract:
    contract: Contract
    source: str  # the reference, pinned to the revision that was pulled
    latest_revision: int
    #: Set when a pinned revision is older than the latest: what the latest adds.
    newer: tuple[str, ...] = ()

    def warning(self) -> str | None:
        if self.contract.revision >= self.latest_revision:
            return None
        adds = "; ".join(self.newer) or "no requirement changes"
        return (
            f"contract {self.contract.name} is pinned to revision {self.contract.revision}, but "
            f"revision {self.latest_revision} is the latest; it {adds}"
        )


def publish_contract(
    store: Store,
    contract: Contract,
    *,
    name: str | None = None,
    now: datetime | None = None,
    signer: Signer | None = None,
) -> PublishResult:
    """Publish a linted contract under its name (or ``name``, for Chainloop's legacy spelling),
    its declaration signed by ``signer``."""
    declared = contract.revision if contract.revision_declared else None
    return publish(
        store,
        "contract",
        name or contract.name,
        contract.raw,
        declared_revision=declared,
        now=now,
        signer=signer,
    )


def _parse(raw: bytes, revision: Revision, source: str) -> Contract:
    return replace(
        parse_contract(raw, source=source), name=revision.name, revision=revision.revision
    )


def pull_contract(text: str) -> PulledContract:
    """The contract a reference names; for a pinned older revision, what the latest adds."""
    ref, store = open_reference(text)
    revision, raw = pull(store, "contract", ref)
    pinned = Reference(ref.store, ref.name, revision=revision.revision)
    contract = _parse(raw, revision, str(pinned))
    if not ref.pinned:
        return PulledContract(contract, str(pinned), revision.revision)
    newest = latest(store, "contract", ref.name)
    if newest is None or newest.revision <= revision.revision:
        return PulledContract(contract, str(pinned), revision.revision)
    latest_contract = _parse(store.get_blob(newest.digest), newest, str(ref))
    changes = tuple(contract_changes(contract, latest_contract))
    return PulledContract(contract, str(pinned), newest.revision, changes)
