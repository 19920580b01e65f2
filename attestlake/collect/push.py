"""Pushing a run's record to a store: signed statements, evidence, one manifest, one tag.

A record is one OCI artifact (``artifactType`` :data:`ARTIFACT_TYPE`, empty config) whose
layers are the signed statements (DSSE envelopes, or Sigstore bundles for keyless signing;
``dev.attestlake.role``: ``envelope`` for the run statement, ``provenance`` for SLSA
provenance) and the evidence files (``role: evidence``). It is tagged ``run-<id>`` (the final
record), ``run-<id>-started``, ``run-<id>-failure`` or ``run-<id>-cancellation``.

The tag is checked before anything is signed or written: if the store already has it for the
same run (same materials), the push is a no-op; if it has a different attestation under that
run id, :class:`~attestlake.errors.RunConflict`. Each signed statement layer has an
``org.opencontainers.image.title`` (:data:`TITLES`), so ``oras pull`` writes every layer out.
Output images in the registry of the store also get each signed statement that names them as
its own OCI 1.1 referrer, in cosign's bundle layout (:mod:`attestlake.collect.image_referrers`);
pushing a record that is already there attaches it again (the same manifests, nothing added),
so a push cut off between the record and the referrers is completed by running it again.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from attestlake._internal._atomic import replace_file as atomic_write
from attestlake._internal.untrusted_json import loads
from attestlake.collect.image_referrers import SignedDocument, attach_to_images
from attestlake.collect.policy_outcome import PolicyEvaluation
from attestlake.errors import ContentError, NotFound, RunConflict
from attestlake.evidence.materials import Material
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, MAX_ENVELOPE_SIZE
from attestlake.signing.signing import (
    BUNDLE_MEDIA_TYPE,
    SIGNED_MEDIA_TYPES,
    SignedStatement,
    Signer,
)
from attestlake.store import Descriptor, Manifest, Store
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE

ARTIFACT_TYPE = "application/vnd.attestlake.run.v1+json"
PREFIX = "dev.attestlake."
TITLE = "org.opencontainers.image.title"
#: The file name of a signed statement layer (``org.opencontainers.image.title``): by role,
#: then ``.dsse.json`` for a DSSE envelope or ``.sigstore.json`` for a Sigstore bundle.
TITLES = {"envelope": "run-statement", "provenance": "provenance"}


def layer_title(role: str, media_type: str) -> str:
    """The file name ``oras pull`` gives a signed statement layer of ``role``."""
    suffix = ".sigstore.json" if media_type == BUNDLE_MEDIA_TYPE else ".dsse.json"
    return TITLES.get(role, role) + suffix


@dataclass(frozen=True)
class Record:
    """What one push writes: signed statements by role, evidence, annotations, a tag."""

    tag: str
    run_id: str
    status: str
    statements: tuple[tuple[str, bytes], ...]  # (role, exact statement bytes); run first
    evidence: tuple[tuple[Material, bytes], ...]
    annotations: Mapping[str, str]
    images: tuple[Material, ...] = ()  # output images to attach the statements to


@dataclass(frozen=True)
class PushResult:
    store: str
    tag: str
    manifest_digest: str
    envelope_digest: str
    blobs: tuple[str, ...]
    already_pushed: bool = False
    provenance_digest: str | None = None
    signer: str | None = None
    media_type: str = ENVELOPE_MEDIA_TYPE
    status: str = "success"
    #: Image references the statements were attached to as OCI referrers.
    referrers: tuple[str, ...] = field(default_factory=tuple)
    #: What the contract's policies said (recorded in the run statement; not in the state).
    policy_evaluations: tuple[PolicyEvaluation, ...] = field(default_factory=tuple)

    def to_state(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("already_pushed")
        out.pop("policy_evaluations")
        out["blobs"], out["referrers"] = list(self.blobs), list(self.referrers)
        return out

    @classmethod
    def from_state(cls, state: Mapping[str, Any], *, already_pushed: bool = False) -> PushResult:
        known = set(cls.__dataclass_fields__) - {
            "already_pushed",
            "blobs",
            "referrers",
            "policy_evaluations",
        }
        return cls(
            **{k: v for k, v in state.items() if k in known},
            blobs=tuple(state.get("blobs") or ()),
            referrers=tuple(state.get("referrers") or ()),
            already_pushed=already_pushed,
        )


def provenance_path(path: Path) -> Path:
    """Where ``--bundle-out PATH`` writes the provenance: ``.provenance`` before the suffix."""
    return path.with_name(
        f"{path.stem}.provenance{path.suffix}" if path.suffix else f"{path.name}.provenance"
    )


def statement_of(raw: bytes, media_type: str) -> dict[str, Any] | None:
    """The in-toto statement inside a DSSE envelope or Sigstore bundle (None if unreadable)."""
    try:
        doc = loads(raw, max_bytes=MAX_ENVELOPE_SIZE, what="envelope")
        if media_type != ENVELOPE_MEDIA_TYPE:
            doc = doc.get("dsseEnvelope") or {}
        payload = base64.b64decode(doc["payload"], validate=True)
        stmt = loads(payload, max_bytes=MAX_ENVELOPE_SIZE, what="payload")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None
    return stmt if isinstance(stmt, dict) else None


def _fingerprint(stmt: Mapping[str, Any]) -> Any:
    """What makes two statements the same run record (timestamps and signatures aside)."""
    pred = stmt.get("predicate") if isinstance(stmt.get("predicate"), dict) else {}
    assert isinstance(pred, dict)
    run = pred.get("run") if isinstance(pred.get("run"), dict) else {}
    assert isinstance(run, dict)
    materials = pred.get("materials") if isinstance(pred.get("materials"), list) else []
    assert isinstance(materials, list)
    return (
        run.get("id"),
        run.get("status"),
        json.dumps(pred.get("workflow"), sort_keys=True),
        json.dumps((pred.get("contract") or {}).get("digest")),
        sorted(
            json.dumps([m.get(k) for k in ("name", "type", "digest", "value")], sort_keys=True)
            for m in materials
            if isinstance(m, dict)
        ),
    )


def _stored(store: Store, layer: Descriptor) -> SignedDocument | None:
    raw = store.get_blob(layer.digest, max_size=MAX_ENVELOPE_SIZE)
    stmt = statement_of(raw, layer.media_type)
    return None if stmt is None else SignedDocument(layer.media_type, raw, stmt)


def _existing(
    store: Store, record: Record
) -> tuple[PushResult, Manifest, list[SignedDocument]] | None:
    """The record already under the record's tag, its manifest and its signed statements (run
    first), or None; RunConflict if the tag holds another attestation."""
    try:
        digest = store.resolve(record.tag)
    except NotFound:
        return None
    manifest = store.get_manifest(digest)
    signed = [layer for layer in manifest.layers if layer.media_type in SIGNED_MEDIA_TYPES]
    role = {layer.annotations.get(PREFIX + "role"): layer for layer in signed}
    run_layer = role.get("envelope") or (signed[0] if signed else None)
    theirs = None if run_layer is None else _stored(store, run_layer)
    ours = json.loads(record.statements[0][1])
    if run_layer is None or theirs is None or _fingerprint(theirs.statement) != _fingerprint(ours):
        raise RunConflict(
            f"{store.ref} already holds {record.tag} with a different attestation (other "
            f"materials, or not a run record); each run needs its own id: for matrix jobs give "
            f"each leg its own --workflow, or pass --run-id to 'attest init'"
        )
    prov = role.get("provenance")
    provenance = None if prov is None else _stored(store, prov)
    result = PushResult(
        store=store.ref,
        tag=record.tag,
        manifest_digest=manifest.digest,
        envelope_digest=run_layer.digest,
        blobs=tuple(layer.digest for layer in manifest.layers),
        already_pushed=True,
        provenance_digest=prov.digest if prov else None,
        signer=manifest.annotations.get(PREFIX + "signer"),
        media_type=run_layer.media_type,
        status=record.status,
    )
    documents = [theirs] + ([provenance] if provenance is not None else [])
    return result, manifest, documents


def _write_bundles(path: Path, signed: list[SignedStatement]) -> None:
    atomic_write(path, signed[0].data)
    if len(signed) > 1:
        atomic_write(provenance_path(path), signed[1].data)


def _write_from_store(path: Path, store: Store, result: PushResult) -> None:
    atomic_write(path, store.get_blob(result.envelope_digest, max_size=MAX_ENVELOPE_SIZE))
    if result.provenance_digest:
        data = store.get_blob(result.provenance_digest, max_size=MAX_ENVELOPE_SIZE)
        atomic_write(provenance_path(path), data)


def push_record(
    store: Store, signer: Signer, record: Record, *, bundle_out: Path | None = None
) -> PushResult:
    """Sign the record's statements and push them with the evidence (see the module doc)."""
    found = _existing(store, record)
    if found is not None:
        existing, manifest, stored = found
        if bundle_out is not None:
            _write_from_store(bundle_out, store, existing)
        attached = attach_to_images(store, record.images, stored, manifest.annotations)
        return replace(existing, referrers=tuple(attached))
    signed = signer.sign_statements([raw for _, raw in record.statements])
    if len(signed) != len(record.statements):
        raise ContentError("the signer returned a different number of signed statements")
    documents = [
        (
            Descriptor.for_bytes(
                doc.media_type,
                doc.data,
                {TITLE: layer_title(role, doc.media_type), PREFIX + "role": role},
            ),
            doc.data,
        )
        for (role, _), doc in zip(record.statements, signed, strict=True)
    ]
    evidence = [
        (
            Descriptor.for_bytes(
                material.media_type or "application/octet-stream",
                data,
                {
                    TITLE: Path(material.value).name,
                    PREFIX + "material": material.name,
                    PREFIX + "role": "evidence",
                },
            ),
            data,
        )
        for material, data in record.evidence
    ]
    annotations = {**record.annotations, PREFIX + "signer": signed[0].signer}
    manifest = Manifest.build(
        artifact_type=ARTIFACT_TYPE,
        layers=[desc for desc, _ in documents + evidence],
        annotations=annotations,
    )
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    for desc, data in evidence + documents:
        store.put_blob(data, desc.media_type)
    store.put_manifest(manifest, tag=record.tag)
    mine = [SignedDocument(d.media_type, d.data, json.loads(d.statement)) for d in signed]
    attached = attach_to_images(store, record.images, mine, manifest.annotations)
    if bundle_out is not None:
        _write_bundles(bundle_out, signed)
    return PushResult(
        store=store.ref,
        tag=record.tag,
        manifest_digest=manifest.digest,
        envelope_digest=documents[0][0].digest,
        blobs=tuple(desc.digest for desc, _ in documents + evidence),
        provenance_digest=documents[1][0].digest if len(documents) > 1 else None,
        signer=signed[0].signer,
        media_type=signed[0].media_type,
        status=record.status,
        referrers=tuple(attached),
    )
