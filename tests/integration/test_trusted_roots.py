"""Several Sigstore trusted roots in one trust policy, each named; every keyless identity is
trusted under the root(s) it names, and a bundle verifies only under one of those.

The roots are real: the corpus's pinned public-good production root, and the trusted roots of
private Sigstore instances (``tests/sigstore_instance.py``: a CA, a CT log and a Rekor log that
sigstore-python verifies as it verifies the public instance).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sigstore import dsse

from attestlake.errors import TrustPolicyError
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED
from attestlake.verify.verify import load_policy, verify_document
from tests.integration.cli_helpers import run_cli
from tests.integration.test_corpus_verify import corpus_documents, expected_rows
from tests.sigstore_double import (
    GITHUB_ISSUER,
    WORKFLOW_IDENTITY,
    FakeSigner,
    FakeSigningContext,
    github_token,
)
from tests.sigstore_instance import SigstoreInstance

STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "app.tar", "digest": {"sha256": "ab" * 32}}],
    "predicateType": "https://example.com/test/v1",
    "predicate": {"built": True},
}
PRIVATE_IDENTITY = f"  - issuer: {GITHUB_ISSUER}\n    subject: {WORKFLOW_IDENTITY}\n"


def keyless_bundle(instance: SigstoreInstance) -> bytes:
    """A Sigstore bundle v0.3 of a DSSE-signed statement, certified and logged by
    ``instance`` for :data:`WORKFLOW_IDENTITY`."""
    signer = FakeSigner(FakeSigningContext(instance=instance), github_token())  # type: ignore[arg-type]
    bundle = signer.sign_dsse(dsse.Statement(json.dumps(STATEMENT).encode()))
    return bundle.to_json().encode()


def corpus_identities(corpus: Path, roots: str) -> str:
    return "".join(
        f"  - issuer: {json.dumps(r['issuer'])}\n    subject: {json.dumps(r['signer'])}\n"
        f"    roots: [{roots}]\n"
        for r in expected_rows(corpus)
        if r["expected"] == "verified" and r["issuer"]
    )


def two_roots_policy(tmp_path: Path, corpus: Path, private_roots: str) -> Path:
    prod = corpus / "keys" / "sigstore-prod.trusted_root.json"
    path = tmp_path / "policy.yaml"
    path.write_text(
        "trusted_roots:\n"
        f"  - name: public-good\n    trusted_root: {json.dumps(str(prod))}\n"
        "  - name: private\n    trusted_root: private.trusted_root.json\n"
        f"identities:\n{corpus_identities(corpus, 'public-good')}"
        f"{PRIVATE_IDENTITY}    roots: [{private_roots}]\n"
    )
    return path


@pytest.fixture(scope="module")
def instance() -> SigstoreInstance:
    return SigstoreInstance()


@pytest.fixture(scope="module")
def private_bundle(instance: SigstoreInstance) -> bytes:
    return keyless_bundle(instance)


@pytest.mark.corpus
def test_public_good_and_private_bundles_each_verify_under_their_own_root(
    tmp_path: Path, corpus: Path, instance: SigstoreInstance, private_bundle: bytes
) -> None:
    instance.write_trusted_root(tmp_path / "private.trusted_root.json")
    policy = load_policy(two_roots_policy(tmp_path, corpus, "private"))
    assert [r.name for r in policy.roots] == ["public-good", "private"]
    verified = [r for r in expected_rows(corpus) if r["expected"] == "verified" and r["issuer"]]
    assert len(verified) == 3
    for row in verified:
        for source, raw in corpus_documents(corpus, row["file"]):
            outcome = verify_document(raw, policy)
            assert (source, outcome.status, outcome.signer) == (source, VERIFIED, row["signer"])
    outcome = verify_document(private_bundle, policy)
    assert (outcome.status, outcome.reason, outcome.detail) == (VERIFIED, None, None)
    assert (outcome.signer, outcome.issuer) == (WORKFLOW_IDENTITY, GITHUB_ISSUER)
    # the public-good impersonation of the corpus stays an impersonation under two roots
    ((source, raw),) = corpus_documents(corpus, "bcr.MODULE-wrong-signer.bazel.intoto.jsonl")
    outcome = verify_document(raw, policy)
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "untrusted_signer")
    assert outcome.detail is not None and outcome.detail.startswith("impersonation")


@pytest.mark.corpus
def test_an_identity_trusted_under_one_root_is_untrusted_signing_via_another(
    tmp_path: Path, corpus: Path, instance: SigstoreInstance, private_bundle: bytes
) -> None:
    instance.write_trusted_root(tmp_path / "private.trusted_root.json")
    policy = load_policy(two_roots_policy(tmp_path, corpus, "public-good"))
    outcome = verify_document(private_bundle, policy)
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "untrusted_signer")
    assert outcome.signer == WORKFLOW_IDENTITY
    assert outcome.detail == (
        f"{WORKFLOW_IDENTITY} (issuer {GITHUB_ISSUER}) is trusted only under the trusted root "
        "public-good, and this bundle is signed under private: a signer trusted under one "
        "Sigstore instance is not trusted for what another instance certifies"
    )


def test_roots_whose_certificate_authorities_share_a_name_are_told_apart(
    tmp_path: Path, private_bundle: bytes, instance: SigstoreInstance
) -> None:
    """Two private instances whose CAs have the same name: the bundle of one is issued, by
    name, by both roots' CAs; it verifies under its own only, so an identity trusted under
    the other is untrusted, and one trusted under both is verified."""
    other = SigstoreInstance()
    assert other.ca.subject == instance.ca.subject
    instance.write_trusted_root(tmp_path / "ours.json")
    other.write_trusted_root(tmp_path / "theirs.json")

    def outcome(roots: str) -> tuple[str, str | None]:
        path = tmp_path / "policy.yaml"
        path.write_text(
            "trusted_roots:\n"
            "  - {name: ours, trusted_root: ours.json}\n"
            "  - {name: theirs, trusted_root: theirs.json}\n"
            f"identities:\n{PRIVATE_IDENTITY}    roots: [{roots}]\n"
        )
        result = verify_document(private_bundle, load_policy(path))
        return result.status, result.reason

    assert outcome("theirs") == (NOT_VERIFIED, "untrusted_signer")
    assert outcome("ours") == (VERIFIED, None)
    assert outcome("theirs, ours") == (VERIFIED, None)


def test_a_bundle_no_root_verifies_is_a_bad_signature(
    tmp_path: Path, private_bundle: bytes, instance: SigstoreInstance
) -> None:
    """The certificate names a CA of both roots (their CAs share a name), and the payload was
    changed after signing: it verifies under neither."""
    instance.write_trusted_root(tmp_path / "ours.json")
    SigstoreInstance().write_trusted_root(tmp_path / "theirs.json")
    (tmp_path / "policy.yaml").write_text(
        "trusted_roots:\n"
        "  - {name: ours, trusted_root: ours.json}\n"
        "  - {name: theirs, trusted_root: theirs.json}\n"
        f"identities:\n{PRIVATE_IDENTITY}    roots: [ours]\n"
    )
    bundle = json.loads(private_bundle)
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"])
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload + b" ").decode()
    outcome = verify_document(json.dumps(bundle).encode(), load_policy(tmp_path / "policy.yaml"))
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature")


def test_the_policy_digest_covers_every_root_and_the_roots_of_each_identity(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    instance.write_trusted_root(tmp_path / "a.json")
    other = SigstoreInstance()
    other.write_trusted_root(tmp_path / "b.json")
    path = tmp_path / "policy.yaml"

    def digest(text: str) -> str:
        path.write_text(text)
        return load_policy(path).digest

    two = (
        "trusted_roots:\n  - {name: a, trusted_root: a.json}\n"
        "  - {name: b, trusted_root: b.json}\n"
        f"identities:\n{PRIVATE_IDENTITY}    roots: [%s]\n"
    )
    under_a, under_b = digest(two % "a"), digest(two % "b")
    assert under_a != under_b
    single = f"trusted_root: a.json\nidentities:\n{PRIVATE_IDENTITY}"
    one_named = (
        f"trusted_roots:\n  - {{name: x, trusted_root: a.json}}\nidentities:\n{PRIVATE_IDENTITY}"
    )
    # one root trusts the same whatever it is called
    assert digest(single) == digest(one_named) == digest(one_named + "    roots: [x]\n")
    before = digest(two % "a")
    other.rekor_key = SigstoreInstance().rekor_key  # b.json changes, a identity still under a
    other.write_trusted_root(tmp_path / "b.json")
    assert digest(two % "a") != before


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "trusted_root: a.json\ntrusted_roots: [{name: a, trusted_root: a.json}]\n",
            "either trusted_root .* or trusted_roots .*, not both",
        ),
        ("trusted_roots: []\n", "trusted_roots must be a non-empty list"),
        ("trusted_roots: {a: a.json}\n", "trusted_roots must be a non-empty list"),
        ("trusted_roots: [a.json]\n", r"trusted_roots\[0\] must be a mapping"),
        ("trusted_roots: [{name: a}]\n", r"trusted_roots\[0\] needs a 'trusted_root'"),
        ("trusted_roots: [{trusted_root: a.json}]\n", r"trusted_roots\[0\].name must be"),
        ("trusted_roots: [{name: 'a b', trusted_root: a.json}]\n", r"\.name must be a short"),
        ('trusted_roots: [{name: "a\\n", trusted_root: a.json}]\n', r"\.name must be a short"),
        (
            "trusted_roots: [{name: a, trusted_root: a.json, url: x}]\n",
            "unknown field 'url'",
        ),
        ("trusted_roots: [{name: a, trusted_root: absent.json}]\n", "absent.json: no such file"),
        (
            "trusted_roots:\n  - {name: a, trusted_root: a.json}\n"
            "  - {name: a, trusted_root: sigstore-public-good}\n",
            "the name 'a' is given twice",
        ),
        (
            "trusted_roots:\n  - {name: a, trusted_root: a.json}\n"
            "  - {name: b, trusted_root: sigstore-public-good}\n"
            f"identities:\n{PRIVATE_IDENTITY}",
            r"identities\[0\] needs 'roots': the policy has several trusted roots \(a, b\)",
        ),
        (
            f"trusted_root: a.json\nidentities:\n{PRIVATE_IDENTITY}    roots: [public-good]\n",
            r"roots: 'public-good' is not one of the trusted roots of the policy \(default\)",
        ),
        (
            f"trusted_root: a.json\nidentities:\n{PRIVATE_IDENTITY}    roots: []\n",
            "roots must be a non-empty list of root names",
        ),
        (
            "trusted_roots:\n  - {name: a, trusted_root: a.json}\n"
            "  - {name: b, trusted_root: sigstore-public-good}\n"
            "declared_state:\n  stores: [registry.example.com/secops]\n"
            f"  identities:\n  {PRIVATE_IDENTITY.replace('    ', '      ')}",
            r"declared_state.identities\[0\] needs 'roots'",
        ),
    ],
)
def test_roots_errors_are_clear(
    tmp_path: Path, instance: SigstoreInstance, text: str, match: str
) -> None:
    instance.write_trusted_root(tmp_path / "a.json")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(TrustPolicyError, match=match):
        load_policy(path)


def test_an_unusable_root_among_several_fails_at_load(
    tmp_path: Path, instance: SigstoreInstance
) -> None:
    instance.write_trusted_root(tmp_path / "a.json")
    (tmp_path / "broken.json").write_text('{"mediaType": "nope"}')
    path = tmp_path / "policy.yaml"
    path.write_text(
        "trusted_roots:\n  - {name: a, trusted_root: a.json}\n"
        "  - {name: broken, trusted_root: broken.json}\n"
        f"identities:\n{PRIVATE_IDENTITY}    roots: [a]\n"
    )
    with pytest.raises(TrustPolicyError, match=r"broken\.json: cannot be loaded"):
        load_policy(path)


def test_verify_cli_with_two_roots(
    tmp_path: Path, instance: SigstoreInstance, private_bundle: bytes
) -> None:
    instance.write_trusted_root(tmp_path / "a.json")
    SigstoreInstance().write_trusted_root(tmp_path / "b.json")
    (tmp_path / "bundle.sigstore.json").write_bytes(private_bundle)
    (tmp_path / "policy.yaml").write_text(
        "trusted_roots:\n  - {name: a, trusted_root: a.json}\n"
        "  - {name: b, trusted_root: b.json}\n"
        f"identities:\n{PRIVATE_IDENTITY}    roots: [b]\n"
    )
    result = run_cli(
        tmp_path, "verify", "bundle.sigstore.json", "--trust", "policy.yaml", "--format", "json"
    )
    assert result.code == 1
    (row,) = json.loads(result.out)
    assert (row["status"], row["reason"], row["signer"]) == (
        NOT_VERIFIED,
        "untrusted_signer",
        WORKFLOW_IDENTITY,
    )
    assert "trusted only under the trusted root b" in row["detail"]


def test_a_roots_keyrings_are_built_once_and_every_bundle_still_checked(
    tmp_path: Path,
    instance: SigstoreInstance,
    private_bundle: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sigstore.models import TrustedRoot

    from attestlake.verify.keyless import check_signature
    from attestlake.verify.sigstore_trust import sigstore_trust

    built: list[str] = []
    for name in ("ct_keyring", "rekor_keyring", "get_timestamp_authorities"):
        original = getattr(TrustedRoot, name)

        def counted(
            self: TrustedRoot, *args: object, _o: object = original, _n: str = name
        ) -> object:
            built.append(_n)
            return _o(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(TrustedRoot, name, counted)
    root = tmp_path / "private.trusted_root.json"
    instance.write_trusted_root(root)
    trust = sigstore_trust(str(root))
    forged = json.loads(private_bundle)
    signature = forged["dsseEnvelope"]["signatures"][0]
    signature["sig"] = base64.b64encode(b"\x01" + base64.b64decode(signature["sig"])[1:]).decode()
    for _ in range(3):
        assert check_signature(trust, private_bundle) is None
        reason, _detail = check_signature(trust, json.dumps(forged).encode()) or ("", "")
        assert reason == "bad_signature"
    # Each once (this instance's bundles carry no timestamp authority's timestamp).
    assert sorted(built) == ["ct_keyring", "rekor_keyring"]
