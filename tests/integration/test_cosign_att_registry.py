"""Crawling cosign's legacy attestations from a real registry: images whose ``sha256-<hex>.att``
manifests hold layers made and pushed as ``cosign attest`` makes and pushes them (keyless
against the private Sigstore instance, or with a key), found by ``attestlake crawl``, each
layer recorded as a ``cosign-legacy-att`` document verified with its annotations; the lake
keeps those annotations, so a later policy re-evaluates the layers without the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake import open_lake
from attestlake.store.registry import RegistryStore
from tests.cosign_att import (
    GITHUB_ISSUER,
    RELEASE,
    AttLayer,
    att_tag,
    key_layer,
    keyless_layer,
    provenance,
    push_att,
)
from tests.integration.cli_helpers import run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_crawl_registry import push_image
from tests.sigstore_instance import SigstoreInstance

pytestmark = [pytest.mark.registry]
MALLORY = "https://github.com/mallory/shop/.github/workflows/release.yml@refs/heads/main"
BUNDLE = "dev.sigstore.cosign/bundle"


def _policy(home: Path, instance: SigstoreInstance, key: ec.EllipticCurvePrivateKey) -> None:
    instance.write_trusted_root(home / "trusted_root.json")
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (home / "cosign.pub").write_bytes(pem)
    (home / "trust.yaml").write_text(
        "trusted_root: trusted_root.json\n"
        f"identities:\n  - issuer: {GITHUB_ISSUER}\n    subject: {RELEASE}\n"
        "keys: [cosign.pub]\n"
    )


def _forged_set(instance: SigstoreInstance, layer: AttLayer) -> AttLayer:
    cert = x509.load_pem_x509_certificate(
        layer.annotations["dev.sigstore.cosign/certificate"].encode()
    )
    forged = instance.cosign_bundle(
        layer.envelope, cert, log_key=ec.generate_private_key(ec.SECP256R1())
    )
    return AttLayer(layer.envelope, {**layer.annotations, BUNDLE: forged})


def _populate(
    repo: RegistryStore, instance: SigstoreInstance, key: ec.EllipticCurvePrivateKey
) -> tuple[dict[str, str], list[str]]:
    """Three images and their .att manifests: (the statements' subject digest -> case, the
    images' digests)."""
    images = [push_image(repo, n) for n in range(3)]
    cases: dict[str, str] = {}

    def stmt(case: str, n: int) -> dict[str, object]:
        digest = f"sha256:{n:064x}"
        cases[digest] = case
        return provenance(f"{repo.repository}:v{n}", digest)

    genuine = keyless_layer(instance, stmt("genuine intoto", 1))
    swapped_body = keyless_layer(instance, stmt("body of another envelope", 4))
    push_att(repo, images[0].digest, [
        genuine,
        keyless_layer(instance, stmt("genuine dsse", 2), kind="dsse/0.0.1"),
        _forged_set(instance, keyless_layer(instance, stmt("SET by another key", 3))),
        AttLayer(swapped_body.envelope, {**swapped_body.annotations, BUNDLE: genuine.annotations[BUNDLE]}),
    ])  # fmt: skip
    push_att(repo, images[1].digest, [
        keyless_layer(SigstoreInstance("another Fulcio"), stmt("another CA", 5)),
        keyless_layer(instance, stmt("identity not in policy", 6), MALLORY),
    ])  # fmt: skip
    push_att(repo, images[2].digest, [key_layer(stmt("key-signed", 7), key)])
    return cases, [image.digest for image in images]


def _outcomes(lake: Path, cases: dict[str, str]) -> dict[str, tuple[str, str | None, str | None]]:
    with open_lake(lake) as opened:
        rows = opened.sql(
            "SELECT v.status, v.reason, v.signer, v.format, v.source, a.subjects "
            "FROM verifications v JOIN attestations a USING (manifest_digest, envelope_digest)"
        ).to_pylist()
    out = {}
    for row in rows:
        assert row["format"] == "cosign-legacy-att" and row["source"].endswith(".att"), row
        digest = "sha256:" + json.loads(row["subjects"])[0]["digest"]["sha256"]
        out[cases[digest]] = (row["status"], row["reason"], row["signer"])
    return out


def test_cosign_att_tags_are_crawled_and_each_layer_verified(
    registry: RegistryServer, tmp_path: Path
) -> None:
    instance = SigstoreInstance()
    key = ec.generate_private_key(ec.SECP256R1())
    repo = RegistryStore(registry.url, "cosign/legacy")
    cases, images = _populate(repo, instance, key)
    assert sorted(t for t in repo.tags() if t.endswith(".att")) == sorted(
        att_tag(digest) for digest in images
    )
    _policy(tmp_path, instance, key)
    args = ("crawl", "--from", f"{registry.host}/cosign/legacy", "--lake", "lake", "--trust", "trust.yaml", "--json")  # fmt: skip
    result = run_cli(tmp_path, *args)
    assert result.code == 0, result.err
    assert result.json()["documents"] == 7
    assert _outcomes(tmp_path / "lake", cases) == {
        "genuine intoto": ("verified", None, RELEASE),
        "genuine dsse": ("verified", None, RELEASE),
        "key-signed": ("verified", None, "cosign.pub"),
        "SET by another key": ("not_verified", "bad_signature", RELEASE),
        "body of another envelope": ("not_verified", "bad_signature", RELEASE),
        "another CA": ("not_verified", "untrusted_signer", RELEASE),
        "identity not in policy": ("not_verified", "untrusted_signer", MALLORY),
    }
    with open_lake(tmp_path / "lake") as opened:
        trusted = opened.sql("SELECT count(*) AS n FROM attestations WHERE trusted").to_pylist()[0][
            "n"
        ]
    assert trusted == 3  # only the verified statements reach the trusted tables

    again = run_cli(tmp_path, *args)
    assert again.code == 0 and again.json()["ingested"] == 0

    # A policy that no longer trusts the release workflow: the lake's kept layers (with their
    # annotations) are verified again, without the registry, and the verdicts change.
    (tmp_path / "trust.yaml").write_text(
        "trusted_root: trusted_root.json\n"
        f"identities:\n  - issuer: {GITHUB_ISSUER}\n    subject: {MALLORY}\n"
    )
    changed = run_cli(tmp_path, "reverify", "--lake", "lake", "--trust", "trust.yaml", "--json")
    assert changed.code == 0, changed.err
    after = _outcomes(tmp_path / "lake", cases)
    assert after["genuine intoto"] == ("not_verified", "untrusted_signer", RELEASE)
    assert after["identity not in policy"] == ("verified", None, MALLORY)
    assert after["key-signed"] == ("not_verified", "no_trust_material", None)
