"""Keyless (Sigstore) signing through a real registry, with sigstore's signing context replaced
by a test double (Fulcio and Rekor cannot be reached here)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sigstore.models import Bundle

from attestlake.collect.collector import Attestation
from attestlake.collect.provenance import PROVENANCE_PREDICATE_TYPE as SLSA_V1
from attestlake.contracts.contracts import parse_contract
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE
from attestlake.signing.signing import BUNDLE_MEDIA_TYPE, SigstoreSigner
from attestlake.store.oci import Index, referrers_tag
from attestlake.store.registry import RegistryStore
from tests import assets
from tests.integration.cli_helpers import GITHUB_ENV, SBOM
from tests.integration.collector_helpers import push_image
from tests.integration.registry_server import RegistryServer
from tests.sigstore_double import WORKFLOW_IDENTITY, FakeSigningContext, github_token

pytestmark = pytest.mark.registry

CONTRACT = assets.path("contracts/keyless-image-sbom.yaml").read_bytes()


def _run(tmp_path: Path, host: str, digest: str) -> Attestation:
    env = {**GITHUB_ENV, "GITHUB_RUN_ID": "6001", "GITHUB_JOB": "build"}
    att = Attestation.init(parse_contract(CONTRACT), workflow="build", project="keyless", env=env)
    att.add(None, f"{host}/keyless/app@{digest}")
    (tmp_path / "sbom.json").write_text(json.dumps(SBOM))
    att.add(None, str(tmp_path / "sbom.json"))
    return att


def test_keyless_push_to_a_registry(tmp_path: Path, registry: RegistryServer) -> None:
    digest = push_image(registry.url, "keyless/app", "2.0", b"keyless rootfs")
    store = RegistryStore(registry.url, "keyless/attestations")
    context = FakeSigningContext()
    signer = SigstoreSigner.from_token(context, github_token())

    att = _run(tmp_path, registry.host, digest)
    result = att.push(signer, store, provenance=True, bundle_out=tmp_path / "out.sigstore.json")
    assert result.media_type == BUNDLE_MEDIA_TYPE and result.signer == WORKFLOW_IDENTITY
    assert context.certificates == 1 and len(context.signed) == 2

    manifest = store.get_manifest(result.tag)
    assert [(la.media_type, la.annotations["dev.attestlake.role"]) for la in manifest.layers] == [
        (BUNDLE_MEDIA_TYPE, "envelope"),
        (BUNDLE_MEDIA_TYPE, "provenance"),
        ("application/vnd.cyclonedx+json", "evidence"),
    ]
    assert manifest.annotations["dev.attestlake.signer"] == WORKFLOW_IDENTITY
    for layer, raw in zip(manifest.layers[:2], context.signed, strict=True):
        data = store.get_blob(layer.digest)
        bundle = json.loads(data)
        assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
        assert base64.b64decode(bundle["dsseEnvelope"]["payload"]) == raw
        Bundle.from_json(data)  # sigstore-python reads back what was pushed
    assert (tmp_path / "out.sigstore.json").read_bytes() == store.get_blob(result.envelope_digest)
    assert (tmp_path / "out.sigstore.provenance.json").is_file()

    # Each bundle, exactly as Sigstore made it, is attached to the image as its own referrer.
    assert result.referrers == (f"{registry.host}/keyless/app@{digest}",)
    image = RegistryStore(registry.url, "keyless/app")
    attached = [image.get_manifest(d.digest) for d in image.referrers(digest)]
    assert [image.get_blob(m.layers[0].digest) for m in attached] == [
        store.get_blob(layer.digest) for layer in manifest.layers[:2]
    ]
    assert all(m.artifact_type == BUNDLE_MEDIA_TYPE and len(m.layers) == 1 for m in attached)

    # A retried step with a fresh state: no new signature, no new attestation.
    again = _run(tmp_path, registry.host, digest).push(signer, store, provenance=True)
    assert again.already_pushed and again.manifest_digest == result.manifest_digest
    assert context.certificates == 1 and len(context.signed) == 2
    assert again.media_type == BUNDLE_MEDIA_TYPE and again.signer == WORKFLOW_IDENTITY


def test_two_runs_of_one_image_share_its_referrers_index(
    tmp_path: Path, registry: RegistryServer
) -> None:
    digest = push_image(registry.url, "keyless/shared", "1.0", b"shared rootfs")
    store = RegistryStore(registry.url, "keyless/shared-attestations")
    signer = SigstoreSigner.from_token(FakeSigningContext(), github_token())
    for run_id in ("first", "second"):
        env = {**GITHUB_ENV, "GITHUB_RUN_ID": "7001"}
        att = Attestation.init(
            parse_contract(CONTRACT), workflow="build", project="x", env=env, run_id=run_id
        )
        att.add("image", f"{registry.host}/keyless/shared@{digest}")
        (tmp_path / "sbom.json").write_text(json.dumps(SBOM))
        att.add("sbom", str(tmp_path / "sbom.json"))
        att.push(signer, store)
    image = RegistryStore(registry.url, "keyless/shared")
    index = image.get_any_manifest(referrers_tag(digest))
    assert isinstance(index, Index)
    # One referrer per signed statement (run statement, provenance) of each run, in order.
    listed = [
        (m.annotations["dev.attestlake.run-id"], m.annotations["dev.sigstore.bundle.predicateType"])
        for m in index.manifests
    ]
    assert listed == [
        ("first", RUN_PREDICATE_TYPE),
        ("first", SLSA_V1),
        ("second", RUN_PREDICATE_TYPE),
        ("second", SLSA_V1),
    ]
    for m in index.manifests:
        assert m.artifact_type == BUNDLE_MEDIA_TYPE
        referrer = image.get_manifest(m.digest)
        assert referrer.subject is not None and referrer.subject.digest == digest
