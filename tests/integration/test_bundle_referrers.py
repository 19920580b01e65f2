"""What the collector attaches to the images it built, read by other projects' code against a
real registry (docker-registry 2.8: no referrers API, so the ``sha256-<hex>`` referrers tag):

- each signed statement is its own referrer in cosign's bundle layout, found the way oras-go
  and cosign find referrers without the API (oras-py reads the referrers tag: it has no
  referrers discovery of its own) and selected by ``artifactType``;
- sigstore-js (npm ``@sigstore/verify``) verifies the key-signed bundles with the published
  public key as trust material, and refuses a tampered one;
- ``oras pull`` of the run record writes every layer under its title;
- sigstore-python verifies the keyless bundles with the trusted root of the Sigstore instance
  that signed them (a private one, in the test process), and attestlake's crawler too;
- the referrers index holds one descriptor per bundle, however often the run is pushed, and
  keeps what other tools listed in it.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oras.client
import pytest
from cryptography.hazmat.primitives import serialization
from sigstore.errors import VerificationError
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

from attestlake.collect import push as push_module
from attestlake.collect.collector import Attestation
from attestlake.contracts.contracts import parse_contract
from attestlake.errors import StoreError
from attestlake.signing.keys import key_id
from attestlake.signing.signing import SigstoreSigner
from attestlake.store import Descriptor, Manifest
from attestlake.store.oci import (
    EMPTY_CONFIG,
    EMPTY_JSON,
    EMPTY_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    referrers_tag,
)
from attestlake.store.registry import RegistryStore
from tests.integration.cli_helpers import GITHUB_ENV, run_cli, setup_workspace
from tests.integration.collector_helpers import push_image
from tests.integration.in_toto_check import in_toto_statement
from tests.integration.registry_server import RegistryServer
from tests.integration.sigstore_js import SigstoreJs
from tests.sigstore_double import GITHUB_ISSUER, WORKFLOW_IDENTITY, FakeSigningContext, github_token
from tests.sigstore_instance import SigstoreInstance

pytestmark = pytest.mark.registry

BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
RUN_V1 = "https://attestlake.dev/attestation/run/v1"
SLSA_V1 = "https://slsa.dev/provenance/v1"
ENV = {**GITHUB_ENV, "GITHUB_RUN_ID": "9100"}


@dataclass
class Pushed:
    workspace: Path
    registry: RegistryServer
    repository: str  # the image's repository
    image_digest: str
    store: str  # HOST/REPO of the attestations

    @property
    def oras(self) -> oras.client.OrasClient:
        return oras.client.OrasClient(hostname=self.registry.host, insecure=True)

    @property
    def image(self) -> str:
        return f"{self.registry.host}/{self.repository}"

    def index(self) -> dict[str, Any]:
        """The referrers index, as oras-go and cosign read it without the referrers API."""
        tag = referrers_tag(self.image_digest)
        found: dict[str, Any] = self.oras.get_manifest(
            f"{self.image}:{tag}", allowed_media_type=[INDEX_MEDIA_TYPE]
        )
        return found

    def bundles(self) -> list[tuple[dict[str, Any], dict[str, Any], bytes]]:
        """(index entry, referrer manifest, bundle bytes) of each Sigstore bundle referrer."""
        out = []
        for entry in self.index()["manifests"]:
            if entry.get("artifactType") != BUNDLE:
                continue
            manifest = self.oras.get_manifest(f"{self.image}@{entry['digest']}")
            [layer] = manifest["layers"]
            blob = self.oras.get_blob(f"{self.image}@{layer['digest']}", layer["digest"])
            out.append((entry, manifest, blob.content))
        return out


def _attest(tmp: Path, pushed: Pushed, *extra: str, run_id: str | None = None) -> str:
    """init, add the image and the SBOM, push with the CI key; the push's output."""
    run = ("--run-id", run_id) if run_id else ()
    for args in (
        ("attest", "init", "--contract", "contract.yaml", "--workflow", "build",
         "--project", "skynet", "--to", pushed.store, "--key", "ci.key", *run),
        ("attest", "add", "--name", "image", "--value", f"{pushed.image}@{pushed.image_digest}"),
        ("attest", "add", "--name", "sbom", "--value", "sbom.json"),
        ("attest", "push", "--key", "ci.key", "--to", pushed.store, *extra),
    ):  # fmt: skip
        r = run_cli(tmp, *args, env=ENV)
        assert r.code == 0, r.err
    return r.out


def _new(tmp: Path, registry: RegistryServer) -> Pushed:
    setup_workspace(tmp)
    repository = f"bundles/{uuid.uuid4().hex[:8]}/app"
    digest = push_image(registry.url, repository, "1.0", repository.encode())
    store = f"{registry.host}/{repository.removesuffix('/app')}/attestations"
    return Pushed(tmp, registry, repository, digest, store)


@pytest.fixture
def pushed(tmp_path: Path, registry: RegistryServer) -> Pushed:
    """One key-signed run of an image pushed to the registry, provenance included."""
    out = _new(tmp_path, registry)
    _attest(tmp_path, out)
    return out


def _key_id(workspace: Path) -> str:
    public = serialization.load_pem_public_key((workspace / "ci.pub").read_bytes())
    return key_id(public)  # type: ignore[arg-type]


def test_each_statement_is_its_own_referrer_in_cosign_bundle_layout(pushed: Pushed) -> None:
    record = RegistryStore(pushed.registry.url, pushed.store.split("/", 1)[1])
    [final] = [t for t in record.tags() if not t.endswith("-started")]
    layers = record.get_manifest(final).layers
    found = pushed.bundles()
    assert [entry["annotations"]["dev.sigstore.bundle.predicateType"] for entry, _, _ in found] == [
        RUN_V1,
        SLSA_V1,
    ]
    for (entry, manifest, raw), layer in zip(found, layers[:2], strict=True):
        assert manifest["mediaType"] == MANIFEST_MEDIA_TYPE
        assert manifest["artifactType"] == BUNDLE
        assert manifest["config"] == EMPTY_CONFIG.to_json()
        assert [la["mediaType"] for la in manifest["layers"]] == [BUNDLE]
        assert manifest["subject"]["digest"] == pushed.image_digest
        annotations = manifest["annotations"]
        assert annotations["dev.sigstore.bundle.content"] == "dsse-envelope"
        assert annotations == entry["annotations"]  # the index says what the manifest says
        assert annotations["dev.attestlake.run-id"] == final.removeprefix("run-")
        bundle = json.loads(raw)
        assert bundle["mediaType"] == BUNDLE
        assert bundle["verificationMaterial"] == {
            "publicKey": {"hint": _key_id(pushed.workspace)},
            "tlogEntries": [],
            "timestampVerificationData": {"rfc3161Timestamps": []},
        }
        # The bundle wraps exactly the envelope of the run record: same payload, same signature.
        envelope = json.loads(record.get_blob(layer.digest))
        assert bundle["dsseEnvelope"] == envelope
        statement = json.loads(base64.b64decode(envelope["payload"]))
        assert annotations["dev.sigstore.bundle.predicateType"] == statement["predicateType"]
        in_toto_statement(statement)
        assert {"sha256": pushed.image_digest.split(":")[1]} in [
            s["digest"] for s in statement["subject"]
        ]


def test_sigstore_js_verifies_the_key_signed_bundles(
    pushed: Pushed, sigstore_js: SigstoreJs, tmp_path: Path
) -> None:
    hint, key = _key_id(pushed.workspace), pushed.workspace / "ci.pub"
    found = pushed.bundles()
    assert len(found) == 2
    for i, (_, _, raw) in enumerate(found):
        path = tmp_path / f"bundle{i}.json"
        path.write_bytes(raw)
        assert sigstore_js.verify(path, key, hint).verified
    # A tampered payload, another key, another hint: each refused.
    bundle = json.loads(found[0][2])
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload.replace(b"9100", b"9101")).decode()
    (tmp_path / "tampered.json").write_text(json.dumps(bundle))
    verdict = sigstore_js.verify(tmp_path / "tampered.json", key, hint)
    assert (verdict.verified, verdict.code) == (False, "SIGNATURE_ERROR")
    assert run_cli(tmp_path, "keys", "generate", "--out", "other").code == 0
    other = sigstore_js.verify(tmp_path / "bundle0.json", tmp_path / "other.pub", hint)
    assert (other.verified, other.code) == (False, "SIGNATURE_ERROR")
    unknown = sigstore_js.verify(tmp_path / "bundle0.json", key, "sha256:" + "0" * 64)
    assert (unknown.verified, unknown.code) == (False, "PUBLIC_KEY_ERROR")


def test_oras_pull_writes_every_layer_of_the_run_record(pushed: Pushed, tmp_path: Path) -> None:
    record = RegistryStore(pushed.registry.url, pushed.store.split("/", 1)[1])
    [final] = [t for t in record.tags() if not t.endswith("-started")]
    out = tmp_path / "pulled"
    files = pushed.oras.pull(target=f"{pushed.store}:{final}", outdir=str(out))
    assert sorted(Path(f).name for f in files) == [
        "provenance.dsse.json",
        "run-statement.dsse.json",
        "sbom.json",
    ]
    layers = record.get_manifest(final).layers
    pulled = {la.annotations["org.opencontainers.image.title"]: la.digest for la in layers}
    for name, digest in pulled.items():
        assert (out / name).read_bytes() == record.get_blob(digest)
    started = record.get_manifest(f"{final}-started").layers
    assert [la.annotations["org.opencontainers.image.title"] for la in started] == [
        "run-statement.dsse.json"
    ]


def test_pushing_the_run_again_adds_no_descriptor(pushed: Pushed) -> None:
    before = pushed.index()
    assert [e["annotations"]["dev.sigstore.bundle.predicateType"] for e in before["manifests"]] == [
        RUN_V1,
        SLSA_V1,
    ]
    (pushed.workspace / ".attestlake" / "attestation.json").unlink()  # a retried CI step
    out = _attest(pushed.workspace, pushed)
    assert "already pushed" in out and f"attached to {pushed.image}@" in out
    assert pushed.index() == before


def test_a_push_cut_off_before_the_referrers_is_completed_by_running_it_again(
    tmp_path: Path, registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _new(tmp_path, registry)

    def cut_off(*args: object, **kwargs: object) -> list[str]:
        raise StoreError("connection reset by peer")

    with monkeypatch.context() as patch:
        patch.setattr(push_module, "attach_to_images", cut_off)
        for args in (
            ("attest", "init", "--contract", "contract.yaml", "--workflow", "build",
             "--project", "skynet"),
            ("attest", "add", "--name", "image", "--value", f"{target.image}@{target.image_digest}"),
            ("attest", "add", "--name", "sbom", "--value", "sbom.json"),
        ):  # fmt: skip
            assert run_cli(tmp_path, *args, env=ENV).code == 0
        failed = run_cli(
            tmp_path, "attest", "push", "--key", "ci.key", "--to", target.store, env=ENV
        )
        assert failed.code != 0 and "connection reset by peer" in failed.err
    image = RegistryStore(registry.url, target.repository)
    assert referrers_tag(target.image_digest) not in list(image.tags())
    again = run_cli(tmp_path, "attest", "push", "--key", "ci.key", "--to", target.store, env=ENV)
    assert again.code == 0, again.err
    assert "already pushed" in again.out
    assert [
        e["annotations"]["dev.sigstore.bundle.predicateType"] for e, _, _ in target.bundles()
    ] == [
        RUN_V1,
        SLSA_V1,
    ]


def test_another_tools_referrers_index_keeps_its_entries(
    tmp_path: Path, registry: RegistryServer
) -> None:
    target = _new(tmp_path, registry)
    image = RegistryStore(registry.url, target.repository)
    signature = b"a signature another tool made"
    layer = image.put_blob(signature, "application/vnd.dev.cosign.simplesigning.v1+json")
    subject = image.head_manifest(target.image_digest)
    referrer = Manifest.build(
        artifact_type="application/vnd.dev.cosign.artifact.sig.v1+json",
        layers=[Descriptor(layer.media_type, layer.digest, layer.size)],
        annotations={"dev.cosignproject.cosign/signature": "MEUCIQ=="},
        subject=Descriptor(subject.media_type, subject.digest, subject.size),
    )
    image.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    image.put_manifest(referrer)
    theirs = {
        **referrer.descriptor().to_json(),
        "platform": {"architecture": "amd64", "os": "linux"},  # a field attestlake does not read
    }
    foreign = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [theirs],
        "annotations": {"org.example.written-by": "another tool"},
    }
    image.put_index(json.dumps(foreign).encode(), referrers_tag(target.image_digest))
    _attest(tmp_path, target)
    index = target.index()
    assert index["manifests"][0] == theirs  # kept as it was, first
    assert index["annotations"] == foreign["annotations"]
    ours = index["manifests"][1:]
    assert [e["artifactType"] for e in ours] == [BUNDLE, BUNDLE]
    assert len({e["digest"] for e in ours}) == 2


def test_sigstore_python_verifies_the_keyless_bundles_and_so_does_the_crawler(
    tmp_path: Path, registry: RegistryServer
) -> None:
    """Keyless signing against a private Sigstore instance (Fulcio, CT log and Rekor in the
    test process, ``tests/sigstore_instance.py``): the bundles attached to the image verify with
    sigstore-python given that instance's trusted root, as the public instance's would."""
    target = _new(tmp_path, registry)
    instance = SigstoreInstance()
    root = instance.write_trusted_root(tmp_path / "trusted_root.json")
    att = Attestation.init(
        parse_contract((tmp_path / "contract.yaml").read_bytes()),
        workflow="build", project="skynet", env=ENV,
    )  # fmt: skip
    att.add("image", f"{target.image}@{target.image_digest}")
    att.add("sbom", str(tmp_path / "sbom.json"))
    signer = SigstoreSigner.from_token(FakeSigningContext(instance=instance), github_token())
    store = RegistryStore(registry.url, target.store.split("/", 1)[1])
    result = att.push(signer, store, provenance=True)
    assert result.referrers == (f"{target.image}@{target.image_digest}",)

    verifier = Verifier(trusted_root=TrustedRoot.from_file(str(root)))
    found = target.bundles()
    assert [e["annotations"]["dev.sigstore.bundle.predicateType"] for e, _, _ in found] == [
        RUN_V1,
        SLSA_V1,
    ]
    for _, _, raw in found:
        bundle = Bundle.from_json(raw)
        payload_type, payload = verifier.verify_dsse(bundle, Identity(
            identity=WORKFLOW_IDENTITY, issuer=GITHUB_ISSUER
        ))  # fmt: skip
        assert payload_type == "application/vnd.in-toto+json"
        in_toto_statement(json.loads(payload))
        with pytest.raises(VerificationError):  # another identity is refused
            verifier.verify_dsse(
                bundle, Identity(identity="https://example.com/other", issuer=GITHUB_ISSUER)
            )
    tampered = json.loads(found[0][2])
    payload = base64.b64decode(tampered["dsseEnvelope"]["payload"])
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(payload + b" ").decode()
    with pytest.raises(VerificationError):
        verifier.verify_dsse(
            Bundle.from_json(json.dumps(tampered)),
            Identity(identity=WORKFLOW_IDENTITY, issuer=GITHUB_ISSUER),
        )

    # attestlake's crawler, given the same trusted root, verifies the record and the referrers.
    (tmp_path / "keyless.yaml").write_text(
        f"trusted_root: trusted_root.json\nidentities:\n"
        f"  - issuer: {GITHUB_ISSUER}\n    subject: {WORKFLOW_IDENTITY}\n"
    )
    host_glob = f"{registry.host}/{target.repository.removesuffix('/app')}/*"
    crawl = run_cli(
        tmp_path, "crawl", "--from", host_glob, "--lake", "lake", "--trust", "keyless.yaml",
        "--json",
    )  # fmt: skip
    assert crawl.code == 0, crawl.err
    rows = run_cli(
        tmp_path, "sql", "--lake", "lake", "--format", "csv",
        "SELECT status, count(*) AS n, (SELECT count(*) FROM runs) AS runs FROM verifications "
        "GROUP BY ALL",
    )  # fmt: skip
    assert rows.out.splitlines() == [
        "status,n,runs",
        "verified,4,1",
    ]  # record: 2, referrers: 1 each
