"""cosign's legacy attestations, made as ``cosign attest`` makes them and pushed as it pushes
them: a DSSE envelope (Go's field order, ``keyid`` empty), signed with an ephemeral key whose
certificate the private Sigstore instance issues, logged there as an ``intoto/0.0.2`` (or
``dsse/0.0.1``) entry; the layer carries the certificate, the chain and the Rekor bundle in
its annotations (``pkg/oci/static`` in sigstore/cosign), and the manifest of the image's
attestations is tagged ``sha256-<hex>.att``, its config an OCI image config naming each layer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, pae
from attestlake.store import Descriptor, Manifest
from attestlake.store.registry import RegistryStore
from tests.sigstore_instance import SigstoreInstance

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
RELEASE = "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"


def provenance(image: str, digest: str, builder: str = RELEASE) -> dict[str, Any]:
    """An in-toto statement as ``cosign attest --type slsaprovenance`` wraps a predicate."""
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_V02,
        "subject": [{"name": image, "digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicate": {
            "builder": {"id": builder},
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
            "invocation": {"configSource": {"uri": "git+https://github.com/acme/shop@main"}},
        },
    }


def envelope(statement: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> bytes:
    """A DSSE envelope as cosign's Go code serialises it."""
    payload = json.dumps(statement, separators=(",", ":")).encode()
    ptype = "application/vnd.in-toto+json"
    sig = key.sign(pae(ptype, payload), ec.ECDSA(hashes.SHA256()))
    return json.dumps(
        {
            "payloadType": ptype,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
        },
        separators=(",", ":"),
    ).encode()


@dataclass(frozen=True)
class AttLayer:
    envelope: bytes
    annotations: dict[str, str] = field(default_factory=dict)


def keyless_layer(
    instance: SigstoreInstance,
    statement: dict[str, Any],
    identity: str = RELEASE,
    *,
    kind: str = "intoto/0.0.2",
    issuer: str = GITHUB_ISSUER,
) -> AttLayer:
    """A keyless attestation, its certificate issued and its envelope logged by ``instance``."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = instance.issue(key, identity, issuer)
    signed = envelope(statement, key)
    pem = serialization.Encoding.PEM
    return AttLayer(
        signed,
        {
            "dev.cosignproject.cosign/signature": "",
            "dev.sigstore.cosign/bundle": instance.cosign_bundle(signed, cert, kind=kind),
            "dev.sigstore.cosign/certificate": cert.public_bytes(pem).decode(),
            "dev.sigstore.cosign/chain": instance.ca.public_bytes(pem).decode(),
            "predicateType": statement["predicateType"],
        },
    )


def key_layer(statement: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> AttLayer:
    """An attestation signed with a key (``cosign attest --key``, no log upload)."""
    return AttLayer(
        envelope(statement, key),
        {"dev.cosignproject.cosign/signature": "", "predicateType": statement["predicateType"]},
    )


def att_tag(image_digest: str) -> str:
    return image_digest.replace(":", "-") + ".att"


def push_att(repo: RegistryStore, image_digest: str, layers: Sequence[AttLayer]) -> Manifest:
    """The image's attestations manifest as cosign pushes it, tagged ``sha256-<hex>.att``."""
    blobs = [
        Descriptor(ENVELOPE_MEDIA_TYPE, *_pushed(repo, layer.envelope), layer.annotations)
        for layer in layers
    ]
    config = json.dumps(
        {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [b.digest for b in blobs]},
            "config": {},
        }
    ).encode()
    config_digest, config_size = _pushed(repo, config, CONFIG_MEDIA_TYPE)
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": CONFIG_MEDIA_TYPE,
                "size": config_size,
                "digest": config_digest,
            },
            "layers": [b.to_json() for b in blobs],
        }
    ).encode()
    manifest = Manifest.parse(raw)
    repo.put_manifest(manifest, tag=att_tag(image_digest))
    return manifest


def _pushed(
    repo: RegistryStore, data: bytes, media_type: str = ENVELOPE_MEDIA_TYPE
) -> tuple[str, int]:
    repo.put_blob(data, media_type)
    return "sha256:" + hashlib.sha256(data).hexdigest(), len(data)
