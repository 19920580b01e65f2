"""The collector's run lifecycle on an OCI layout store: start, push, reset, no duplicates."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.collect.collector import Attestation, derive_run_id
from attestlake.collect.provenance import PROVENANCE_PREDICATE_TYPE
from attestlake.collect.push import provenance_path, statement_of
from attestlake.contracts.contracts import parse_contract
from attestlake.errors import ContractUnsatisfied, InputError, MaterialError, RunConflict
from attestlake.evidence.runners import discover
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, Envelope
from attestlake.signing.keys import KeySigner, verify_signature
from attestlake.signing.signing import BUNDLE_MEDIA_TYPE, DeferredSigner, SigstoreSigner
from attestlake.store.layout import LayoutStore
from tests import assets
from tests.sigstore_double import FakeSigningContext, github_token

CONTRACT = assets.path("contracts/github-image-sbom-optional-junit.yaml").read_bytes()
GITHUB = assets.env("ci/github-job-build-attempt-1.json")
IMAGE = "registry.example.com/cyberdyne/skynet@sha256:" + "1" * 64
SBOM = assets.data("sboms/cyclonedx-zlib-only.json")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "sbom.json").write_text(json.dumps(SBOM))
    (tmp_path / "junit.xml").write_text(assets.text("junit/two-testcases.xml"))
    return tmp_path


@pytest.fixture
def signer() -> KeySigner:
    return KeySigner(ec.generate_private_key(ec.SECP256R1()))


def _init(env: dict[str, str] = GITHUB, **kwargs: Any) -> Attestation:
    return Attestation.init(
        parse_contract(CONTRACT), workflow="build", project="skynet", env=env, **kwargs
    )


def _complete(work: Path, env: dict[str, str] = GITHUB, **kwargs: Any) -> Attestation:
    att = _init(env, **kwargs)
    att.add(None, IMAGE)  # kind detected, fills the contract's image
    att.add(None, str(work / "sbom.json"))  # detected as CycloneDX, fills sbom
    return att


def _statement(store: LayoutStore, tag: str, role: str = "envelope") -> dict[str, Any]:
    manifest = store.get_manifest(tag)
    layer = next(la for la in manifest.layers if la.annotations.get("dev.attestlake.role") == role)
    stmt = statement_of(store.get_blob(layer.digest), layer.media_type)
    assert stmt is not None
    return stmt


# -- run ids -------------------------------------------------------------------------------
def test_run_id_is_derived_from_the_ci_job() -> None:
    a, b = _init(), _init()
    assert a.run_id == b.run_id and len(a.run_id) == 32
    assert _init({**GITHUB, "GITHUB_RUN_ATTEMPT": "2"}).run_id != a.run_id
    other = Attestation.init(
        parse_contract(CONTRACT), workflow="deploy", project="skynet", env=GITHUB
    )
    assert other.run_id != a.run_id
    assert derive_run_id(discover({}), "build", "skynet") is None
    assert _init({}, dry_run=True).run_id != _init({}, dry_run=True).run_id  # random
    assert _init(run_id="matrix-leg-1").run_id == "matrix-leg-1"
    with pytest.raises(InputError, match="--run-id"):
        _init(run_id="../etc")


# -- materials -----------------------------------------------------------------------------
def test_add_without_name_detects_the_kind_and_fills_the_contract(work: Path) -> None:
    att = _complete(work)
    assert [(m.name, m.kind) for m in att.materials] == [
        ("image", "CONTAINER_IMAGE"),
        ("sbom", "SBOM_CYCLONEDX_JSON"),
    ]
    tests = att.add(None, str(work / "junit.xml"))
    assert (tests.name, tests.details["tests"]) == ("tests", 2)
    (work / "notes.txt").write_text("release notes")
    extra = att.add(None, str(work / "notes.txt"))
    assert (extra.name, extra.kind) == ("artifact-4", "ARTIFACT")
    assert att.add(None, "v1.2.3").kind == "STRING"


def test_image_by_tag_is_resolved_to_its_digest(work: Path) -> None:
    att = _init()
    asked: list[str] = []

    def resolve(ref: str) -> str:
        asked.append(ref)
        return f"{ref}@sha256:{'9' * 64}"

    m = att.add("image", "registry.example.com/cyberdyne/skynet:1.0", resolve_image=resolve)
    assert asked == ["registry.example.com/cyberdyne/skynet:1.0"]
    assert m.digest == "sha256:" + "9" * 64 and m.details["tag"] == "1.0"
    with pytest.raises(MaterialError, match="with a digest"):
        att.add("image", "registry.example.com/cyberdyne/skynet:1.0")  # no resolver


# -- push ----------------------------------------------------------------------------------
def test_push_with_provenance(work: Path, signer: KeySigner) -> None:
    store = LayoutStore(work / "store")
    att = _complete(work)
    out = work / "out" / "attestation.json"
    result = att.push(signer, store, provenance=True, bundle_out=out)

    manifest = store.get_manifest(f"run-{att.run_id}")
    roles = [(la.media_type, la.annotations["dev.attestlake.role"]) for la in manifest.layers]
    assert roles == [
        (ENVELOPE_MEDIA_TYPE, "envelope"),
        (ENVELOPE_MEDIA_TYPE, "provenance"),
        ("application/vnd.cyclonedx+json", "evidence"),
    ]
    ann = manifest.annotations
    assert ann["dev.attestlake.kind"] == "attestation"
    assert ann["dev.attestlake.run-status"] == "success"
    assert ann["dev.attestlake.signer"] == f"key {signer.key_id}" == result.signer
    prov = _statement(store, result.tag, "provenance")
    assert prov["predicateType"] == PROVENANCE_PREDICATE_TYPE
    assert prov["subject"][0]["digest"] == {"sha256": "1" * 64}
    run = _statement(store, result.tag)["predicate"]["run"]
    assert run["status"] == "success" and "reason" not in run

    # --bundle-out wrote exactly what was pushed, and it verifies with the public key.
    assert out.read_bytes() == store.get_blob(result.envelope_digest)
    assert provenance_path(out) == work / "out" / "attestation.provenance.json"
    assert provenance_path(out).read_bytes() == store.get_blob(str(result.provenance_digest))
    env = Envelope.parse(out.read_bytes())
    assert verify_signature(signer.key.public_key(), env.pae(), env.signatures[0].sig)


def test_refused_push_never_asks_for_a_signature(work: Path) -> None:
    made: list[KeySigner] = []

    def make() -> KeySigner:
        made.append(KeySigner(ec.generate_private_key(ec.SECP256R1())))
        return made[-1]

    att = _init()
    att.add("image", IMAGE)
    with pytest.raises(ContractUnsatisfied, match="missing: material sbom"):
        att.push(DeferredSigner(make, "sigstore keyless"), LayoutStore(work / "store"))
    assert not made and not (work / "store").exists()


def test_pushing_the_same_run_with_a_fresh_state_adds_nothing(
    work: Path, signer: KeySigner
) -> None:
    store = LayoutStore(work / "store")
    first = _complete(work).push(signer, store)
    blobs = sorted(p.name for p in (work / "store" / "blobs" / "sha256").iterdir())

    again = _complete(work).push(signer, store)  # a retried CI step: new state, same run
    assert again.already_pushed and again.manifest_digest == first.manifest_digest
    assert sorted(p.name for p in (work / "store" / "blobs" / "sha256").iterdir()) == blobs
    assert [t for t in store.tags() if t.startswith("run-")] == [first.tag]


def test_a_different_attestation_under_the_same_run_id_is_a_conflict(
    work: Path, signer: KeySigner
) -> None:
    store = LayoutStore(work / "store")
    _complete(work).push(signer, store)
    other = _init()
    other.add("image", "registry.example.com/cyberdyne/skynet@sha256:" + "2" * 64)
    other.add("sbom", str(work / "sbom.json"))
    with pytest.raises(RunConflict, match="--run-id"):
        other.push(signer, store)


def test_keyless_push_stores_sigstore_bundles(work: Path) -> None:
    store = LayoutStore(work / "store")
    context = FakeSigningContext()
    att = _complete(work)
    result = att.push(SigstoreSigner.from_token(context, github_token()), store, provenance=True)
    manifest = store.get_manifest(result.tag)
    assert [la.media_type for la in manifest.layers[:2]] == [BUNDLE_MEDIA_TYPE] * 2
    assert result.media_type == BUNDLE_MEDIA_TYPE and context.certificates == 1
    bundle = json.loads(store.get_blob(result.envelope_digest))
    assert base64.b64decode(bundle["dsseEnvelope"]["payload"]) == context.signed[0]
    assert manifest.annotations["dev.attestlake.signer"] == FakeSigningContext().identity


# -- lifecycle -----------------------------------------------------------------------------
def test_start_is_recorded_once(work: Path, signer: KeySigner) -> None:
    store = LayoutStore(work / "store")
    att = _init()
    started = att.start(signer, store)
    assert started.tag == f"run-{att.run_id}-started"
    run = _statement(store, started.tag)["predicate"]["run"]
    assert run["status"] == "started" and "finishedAt" not in run
    assert att.start(signer, store).already_pushed
    assert _init().start(signer, store).already_pushed  # fresh state, same run: no duplicate


@pytest.mark.parametrize(
    ("trigger", "status"), [("failure", "failed"), ("cancellation", "cancelled")]
)
def test_reset_records_the_failed_or_cancelled_run(
    work: Path, signer: KeySigner, trigger: str, status: str
) -> None:
    store = LayoutStore(work / "store")
    att = _init()
    att.add("image", IMAGE)
    result = att.reset(trigger, "unit tests failed", signer, store)
    assert result.tag == f"run-{att.run_id}-{trigger}"
    stmt = _statement(store, result.tag)
    assert stmt["predicate"]["run"]["status"] == status
    assert stmt["predicate"]["run"]["reason"] == "unit tests failed"
    assert stmt["predicate"]["materials"][0]["name"] == "image"
    assert store.get_manifest(result.tag).annotations["dev.attestlake.run-status"] == status
    assert att.reset(trigger, "again", signer, store).already_pushed
    other = "cancellation" if trigger == "failure" else "failure"
    with pytest.raises(InputError, match="already reset"):
        att.reset(other, None, signer, store)
    with pytest.raises(InputError, match="was reset"):
        att.push(signer, store)
    with pytest.raises(InputError, match="was reset"):
        att.add("sbom", str(work / "sbom.json"))


def test_reset_after_a_successful_push_is_refused(work: Path, signer: KeySigner) -> None:
    store = LayoutStore(work / "store")
    att = _complete(work)
    att.push(signer, store)
    with pytest.raises(InputError, match="already pushed as a success"):
        att.reset("failure", None, signer, store)
    with pytest.raises(InputError, match="--trigger"):
        _init().reset("timeout", None, signer, store)


def test_a_dry_run_on_a_forbidden_runner_cannot_be_pushed(work: Path, signer: KeySigner) -> None:
    with pytest.raises(ContractUnsatisfied, match="--dry-run"):
        _init({})
    att = _complete(work, {}, dry_run=True)
    assert att.status().complete and not att.status().runner_allowed
    with pytest.raises(ContractUnsatisfied, match="a dry run cannot be pushed"):
        att.push(signer, LayoutStore(work / "store"))
    allowed = _complete(work, dry_run=True)  # a dry run on an allowed runner is recorded as one
    result = allowed.push(signer, LayoutStore(work / "store"))
    assert _statement(LayoutStore(work / "store"), result.tag)["predicate"]["run"]["dryRun"]


def test_state_round_trip_keeps_everything(work: Path, signer: KeySigner) -> None:
    att = _complete(work, store="oci:somewhere", signing={"key": "ci.key"})
    att.contract = replace(att.contract, revision=7)
    att.contract_source = "oci:contracts#skynet-build@7"
    att.start(signer, LayoutStore(work / "store"))
    path = work / "state.json"
    att.save(path)
    back = Attestation.load(path)
    assert back.to_state() == att.to_state()
    assert back.contract.revision == 7 and back.store == "oci:somewhere"
    assert back.signing == {"key": "ci.key"} and back.started == att.started
    stmt = json.loads(back.statement_bytes(None, "started"))
    assert stmt["predicate"]["contract"]["source"] == "oci:contracts#skynet-build@7"
    assert stmt["predicate"]["contract"]["revision"] == 7
