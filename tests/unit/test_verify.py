"""Trust policies, verify_envelope and verify_document: every outcome and reason a crawler
records (Sigstore bundles: test_bundles.py and the corpus tests)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake.errors import InputError, TrustPolicyError
from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE, Envelope
from attestlake.signing.keys import KeySigner, generate_key, key_id, parse_public_key
from attestlake.verify.outcome import NOT_VERIFIED, REASONS, VERIFIED
from attestlake.verify.roots import SigstoreRoot
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy, verify_document, verify_envelope, verify_files

PREDICATE_TYPE = "https://attestlake.dev/attestation/run/v1"


def statement(project: str = "a", workflow: str = "build") -> bytes:
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app", "digest": {"sha256": "0" * 64}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {"workflow": {"name": workflow, "project": project}},
        }
    ).encode()


class Keys:
    """A key pair written under ``dir/keys`` and a signer for it."""

    def __init__(self, directory: Path, name: str) -> None:
        private_pem, public_pem = generate_key()
        (directory / "keys").mkdir(exist_ok=True)
        self.rel_path = f"keys/{name}.pub.pem"
        (directory / self.rel_path).write_bytes(public_pem)
        self.key_id = key_id(parse_public_key(public_pem))
        private = serialization.load_pem_private_key(private_pem, password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        self.signer = KeySigner(private)

    def sign(self, payload: bytes, payload_type: str = INTOTO_PAYLOAD_TYPE) -> bytes:
        return self.signer.sign_envelope(payload_type, payload).to_json_bytes()


def write_policy(directory: Path, text: str) -> Path:
    path = directory / "policy.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def team(tmp_path: Path) -> Keys:
    return Keys(tmp_path, "team")


@pytest.fixture
def policy(tmp_path: Path, team: Keys) -> TrustPolicy:
    return load_policy(write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n"))


# --- policies ------------------------------------------------------------------------------


def test_policy_key_paths_are_relative_to_the_policy_file(
    tmp_path: Path, team: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory does not matter
    policy = load_policy(write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n"))

    assert not policy.empty
    assert len(policy.keys) == 1
    assert policy.keys[0].path == team.rel_path
    assert policy.keys[0].key_id == team.key_id
    assert policy.key_by_id(team.key_id) is policy.keys[0]
    assert policy.key_by_id("sha256:" + "0" * 64) is None


def test_policy_scopes_are_read(tmp_path: Path, team: Keys) -> None:
    policy = load_policy(
        write_policy(
            tmp_path,
            f"keys:\n  - path: {team.rel_path}\n    projects: [a, c]\n    workflows: [build]\n",
        )
    )
    key = policy.keys[0]
    assert key.projects == ("a", "c")
    assert key.workflows == ("build",)
    assert key.allows("a", "build")
    assert not key.allows("b", "build")
    assert not key.allows("a", "deploy")


def test_policy_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrustPolicyError, match="no such trust policy file"):
        load_policy(tmp_path / "absent.yaml")


def test_policy_unknown_field(tmp_path: Path, team: Keys) -> None:
    path = write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\nkeyz: []\n")
    with pytest.raises(TrustPolicyError, match="unknown field 'keyz'"):
        load_policy(path)


def test_policy_unknown_field_in_a_key_entry(tmp_path: Path, team: Keys) -> None:
    path = write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    project: [a]\n")
    with pytest.raises(TrustPolicyError, match=r"keys\[0\]: unknown field 'project'"):
        load_policy(path)


def test_policy_key_entry_without_path(tmp_path: Path) -> None:
    path = write_policy(tmp_path, "keys:\n  - projects: [a]\n")
    with pytest.raises(TrustPolicyError, match=r"keys\[0\] needs a 'path'"):
        load_policy(path)


def test_policy_key_file_missing(tmp_path: Path) -> None:
    # The error is the key loader's (KeyError_, an InputError), naming the resolved key path.
    path = write_policy(tmp_path, "keys:\n  - path: keys/absent.pub.pem\n")
    with pytest.raises(InputError, match="no such key file") as info:
        load_policy(path)
    assert str(tmp_path / "keys" / "absent.pub.pem") in str(info.value)


@pytest.mark.parametrize("text", ["- path: a.pem\n", "just a string\n", ""])
def test_policy_not_a_mapping(tmp_path: Path, text: str) -> None:
    with pytest.raises(TrustPolicyError, match="a trust policy is a YAML mapping"):
        load_policy(write_policy(tmp_path, text))


def test_policy_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(TrustPolicyError, match="cannot read trust policy"):
        load_policy(write_policy(tmp_path, "keys: [\n"))


def test_policy_scope_must_be_a_list_of_strings(tmp_path: Path, team: Keys) -> None:
    path = write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    projects: a\n")
    with pytest.raises(TrustPolicyError, match="projects must be a list of strings"):
        load_policy(path)


# --- outcomes ------------------------------------------------------------------------------


def test_verified(team: Keys, policy: TrustPolicy) -> None:
    outcome = verify_envelope(team.sign(statement()), policy)

    assert outcome.status == VERIFIED
    assert outcome.verified
    assert outcome.reason is None
    assert outcome.signer == team.rel_path
    assert outcome.key_id == team.key_id
    assert outcome.predicate_type == PREDICATE_TYPE
    assert outcome.statement is not None
    assert outcome.statement["predicate"]["workflow"] == {"name": "build", "project": "a"}


def test_tampered_payload_is_bad_signature(team: Keys, policy: TrustPolicy) -> None:
    env = Envelope.parse(team.sign(statement()))
    tampered = Envelope(env.payload_type, statement(project="evil"), env.signatures)

    outcome = verify_envelope(tampered.to_json_bytes(), policy)

    assert outcome.status == NOT_VERIFIED
    assert not outcome.verified
    assert outcome.reason == "bad_signature"
    assert outcome.signer == team.rel_path
    assert outcome.key_id == team.key_id
    assert outcome.predicate_type == PREDICATE_TYPE


def test_signed_by_another_key_is_untrusted_signer(tmp_path: Path, policy: TrustPolicy) -> None:
    stranger = Keys(tmp_path, "stranger")

    outcome = verify_envelope(stranger.sign(statement()), policy)

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "untrusted_signer"
    assert outcome.signer is None
    assert outcome.key_id == stranger.key_id
    assert outcome.predicate_type == PREDICATE_TYPE


def test_no_signatures_is_no_trust_material(policy: TrustPolicy) -> None:
    raw = Envelope(INTOTO_PAYLOAD_TYPE, statement(), ()).to_json_bytes()

    outcome = verify_envelope(raw, policy)

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "no_trust_material"
    assert outcome.predicate_type == PREDICATE_TYPE


def test_empty_policy_is_no_trust_material(tmp_path: Path, team: Keys) -> None:
    empty = load_policy(write_policy(tmp_path, "keys: []\n"))
    assert empty.empty

    outcome = verify_envelope(team.sign(statement()), empty)

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "no_trust_material"


@pytest.mark.parametrize(
    "raw",
    [b"\x00\x01garbage\xff", b"", b"{}", b'{"payloadType":"t","payload":"!!","signatures":[]}'],
    ids=["bytes", "empty", "empty-object", "bad-base64"],
)
def test_garbage_is_malformed(raw: bytes, policy: TrustPolicy) -> None:
    outcome = verify_envelope(raw, policy)
    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "malformed"
    assert outcome.detail


def test_in_toto_payload_that_is_not_a_statement_is_malformed(
    team: Keys, policy: TrustPolicy
) -> None:
    outcome = verify_envelope(team.sign(b'{"no":"predicateType"}'), policy)
    assert outcome.reason == "malformed"


def test_other_payload_type_validly_signed_is_unsupported(team: Keys, policy: TrustPolicy) -> None:
    outcome = verify_envelope(team.sign(b"hello", "application/vnd.example+text"), policy)

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "unsupported"
    assert outcome.signer == team.rel_path
    assert outcome.key_id == team.key_id


def test_scoped_key_verifies_its_own_project(tmp_path: Path, team: Keys) -> None:
    scoped = load_policy(
        write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    projects: [a]\n")
    )
    assert verify_envelope(team.sign(statement(project="a")), scoped).verified


def test_scoped_key_signing_another_project_is_untrusted_signer(tmp_path: Path, team: Keys) -> None:
    scoped = load_policy(
        write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    projects: [a]\n")
    )

    outcome = verify_envelope(team.sign(statement(project="b")), scoped)

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "untrusted_signer"
    assert outcome.signer == team.rel_path
    assert outcome.key_id == team.key_id


def test_workflow_scope(tmp_path: Path, team: Keys) -> None:
    scoped = load_policy(
        write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    workflows: [build]\n")
    )
    assert verify_envelope(team.sign(statement(workflow="build")), scoped).verified
    outcome = verify_envelope(team.sign(statement(workflow="deploy")), scoped)
    assert outcome.reason == "untrusted_signer"


def test_second_signature_by_an_unscoped_key_verifies(tmp_path: Path, team: Keys) -> None:
    release = Keys(tmp_path, "release")
    policy = load_policy(
        write_policy(
            tmp_path,
            f"keys:\n  - path: {team.rel_path}\n    projects: [a]\n  - path: {release.rel_path}\n",
        )
    )
    payload = statement(project="b")
    first = team.signer.sign_envelope(INTOTO_PAYLOAD_TYPE, payload)
    second = release.signer.sign_envelope(INTOTO_PAYLOAD_TYPE, payload)
    both = Envelope(INTOTO_PAYLOAD_TYPE, payload, first.signatures + second.signatures)

    outcome = verify_envelope(both.to_json_bytes(), policy)

    assert outcome.verified
    assert outcome.signer == release.rel_path


def test_every_reason_is_a_known_category(tmp_path: Path, team: Keys, policy: TrustPolicy) -> None:
    stranger = Keys(tmp_path, "other")
    outcomes = [
        verify_envelope(b"junk", policy),
        verify_envelope(stranger.sign(statement()), policy),
        verify_envelope(team.sign(b"x", "text/plain"), policy),
    ]
    assert {o.reason for o in outcomes} <= set(REASONS)


# --- the real-world corpus -----------------------------------------------------------------


def _corpus_policy(tmp_path: Path, corpus: Path, key: str) -> TrustPolicy:
    # An absolute path: the corpus is read in place, never copied into the project.
    key_path = corpus / "keys" / key
    return load_policy(write_policy(tmp_path, f"keys:\n  - path: {key_path}\n"))


def _first_line(path: Path) -> bytes:
    return next(line for line in path.read_bytes().splitlines() if line.strip())


@pytest.mark.corpus
def test_corpus_gce_vsa_p1363_verifies(tmp_path: Path, corpus: Path) -> None:
    policy = _corpus_policy(tmp_path, corpus, "gce-vsa.pub.pem")

    outcome = verify_envelope(_first_line(corpus / "gce.vsa-p1363.dsse.jsonl"), policy)

    assert outcome.status == VERIFIED, outcome.detail
    assert outcome.signer == str(corpus / "keys" / "gce-vsa.pub.pem")
    assert outcome.predicate_type == "https://slsa.dev/verification_summary/v1"


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["witness.cdx-att.dsse.json", "archivista.build.dsse.json"])
def test_corpus_witness_envelopes_verify(tmp_path: Path, corpus: Path, name: str) -> None:
    policy = _corpus_policy(tmp_path, corpus, "witness-ed25519.pub.pem")

    outcome = verify_envelope((corpus / name).read_bytes(), policy)

    assert outcome.status == VERIFIED, outcome.detail
    assert outcome.key_id == policy.keys[0].key_id
    assert outcome.predicate_type == "https://witness.testifysec.com/attestation-collection/v0.1"


@pytest.mark.corpus
def test_corpus_archivista_fail_does_not_verify(tmp_path: Path, corpus: Path) -> None:
    policy = _corpus_policy(tmp_path, corpus, "witness-ed25519.pub.pem")

    outcome = verify_envelope((corpus / "archivista.fail.dsse.json").read_bytes(), policy)

    assert outcome.status == NOT_VERIFIED
    # untrusted_signer, not bad_signature: the envelope's keyid (6316cb92..., witness-style
    # bare hex) is not the witness key's (witness names it ae2dcc98..., the sha256 of its PEM,
    # which the policy accepts as an alias) and its 71-byte DER ECDSA signature cannot come
    # from the ed25519 witness key: another key signed it, one the policy does not hold.
    assert outcome.reason == "untrusted_signer"
    assert outcome.signer is None
    assert outcome.key_id == "6316cb923d1b8412880e49fb0245c0e5f5536674d1c2cc3e948476fdc9830453"


@pytest.mark.corpus
def test_corpus_witness_envelope_with_changed_payload_does_not_verify(
    tmp_path: Path, corpus: Path
) -> None:
    policy = _corpus_policy(tmp_path, corpus, "witness-ed25519.pub.pem")
    env = Envelope.parse((corpus / "witness.cdx-att.dsse.json").read_bytes())
    changed = Envelope(env.payload_type, env.payload + b" ", env.signatures)

    outcome = verify_envelope(changed.to_json_bytes(), policy)

    assert outcome.status == NOT_VERIFIED
    # the envelope names the witness key by witness's own id (sha256 of the PEM): the policy
    # knows that spelling, so a changed payload is a bad signature, not an unknown signer
    assert outcome.reason == "bad_signature"
    assert outcome.key_id == policy.keys[0].key_id
    assert outcome.signer == str(corpus / "keys" / "witness-ed25519.pub.pem")


# --- Sigstore identities and trusted roots in the policy ----------------------------------

GH = "https://token.actions.githubusercontent.com"
RELEASE = "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sigstore-python copies its embedded trusted root under the XDG directories."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def embedded_trusted_root() -> bytes:
    import sigstore

    store = Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    return (store / "trusted_root.json").read_bytes()


@pytest.mark.usefixtures("xdg")
def test_policy_identities_are_read(tmp_path: Path, team: Keys) -> None:
    policy = load_policy(
        write_policy(
            tmp_path,
            f"identities:\n"
            f"  - issuer: {GH}\n    subject: {RELEASE}\n"
            f"  - issuer: {GH}\n    subject_regex: ^https://github\\.com/myorg/\n"
            f"    projects: [payments]\n    workflows: [build]\n"
            f"keys:\n  - path: {team.rel_path}\n",
        )
    )
    exact, pattern = policy.identities
    assert policy.roots == (SigstoreRoot("default", "sigstore-public-good"),)
    assert not policy.empty
    assert (exact.issuer, exact.subject, exact.subject_regex) == (GH, RELEASE, None)
    assert exact.matches(RELEASE, GH)
    assert not exact.matches(RELEASE + "x", GH)
    assert not exact.matches(RELEASE, "https://accounts.google.com")  # issuer is exact too
    assert not exact.matches(None, GH)
    assert pattern.matches("https://github.com/myorg/app/.github/workflows/x.yml@refs/tags/v1", GH)
    assert not pattern.matches("https://evil.example/?https://github.com/myorg/", GH)
    assert (pattern.projects, pattern.workflows) == (("payments",), ("build",))
    assert pattern.allows("payments", "build")
    assert not pattern.allows(None, None)  # another tool's predicate names no project


def test_policy_with_identities_only_is_not_empty(tmp_path: Path, xdg: None) -> None:
    policy = load_policy(write_policy(tmp_path, f"identities:\n  - issuer: {GH}\n    subject: x\n"))
    assert not policy.empty
    assert policy.keys == ()


def test_policy_trusted_root_is_relative_to_the_policy(tmp_path: Path) -> None:
    (tmp_path / "roots").mkdir()
    (tmp_path / "roots" / "trusted_root.json").write_bytes(embedded_trusted_root())
    policy = load_policy(
        write_policy(
            tmp_path,
            f"trusted_root: roots/trusted_root.json\nidentities:\n  - issuer: {GH}\n"
            f"    subject: {RELEASE}\n",
        )
    )
    assert [r.source for r in policy.roots] == [str(tmp_path / "roots" / "trusted_root.json")]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("trusted_root: absent.json\n", "trusted_root .*absent.json: no such file"),
        ("trusted_root: 3\n", "trusted_root must be"),
        ("identities: {issuer: x}\n", "identities must be a list"),
        ("identities: [just-a-string]\n", r"identities\[0\] must be a mapping"),
        ("identities:\n  - subject: x\n", r"identities\[0\] needs an 'issuer'"),
        (f"identities:\n  - issuer: {GH}\n", "exactly one of 'subject' and 'subject_regex'"),
        (
            f"identities:\n  - issuer: {GH}\n    subject: a\n    subject_regex: ^a\n",
            "exactly one of",
        ),
        (f"identities:\n  - issuer: {GH}\n    subject: [a]\n", "subject must be a non-empty"),
        (f"identities:\n  - issuer: {GH}\n    subject_regex: github\n", "must start with '\\^'"),
        (f"identities:\n  - issuer: {GH}\n    subject_regex: ^(\n", "not a valid regex"),
        (f"identities:\n  - issuer: {GH}\n    subject: a\n    project: [a]\n", "unknown field"),
        (f"identities:\n  - issuer: {GH}\n    subject: a\n    projects: a\n", "list of strings"),
    ],
)
def test_policy_identity_errors(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(TrustPolicyError, match=match):
        load_policy(write_policy(tmp_path, text))


def test_policy_unusable_trusted_root_fails_at_load(tmp_path: Path) -> None:
    (tmp_path / "root.json").write_text('{"mediaType": "nope"}')
    text = f"trusted_root: root.json\nidentities:\n  - issuer: {GH}\n    subject: {RELEASE}\n"
    with pytest.raises(TrustPolicyError, match="cannot be loaded"):
        load_policy(write_policy(tmp_path, text))


# --- key ids, unsigned and unidentified documents ------------------------------------------


def test_key_ids_in_other_spellings_name_the_key(tmp_path: Path, team: Keys) -> None:
    import hashlib

    policy = load_policy(write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n"))
    pem_hash = hashlib.sha256((tmp_path / team.rel_path).read_bytes()).hexdigest()
    assert policy.key_by_id(pem_hash) is policy.keys[0]  # witness / archivista
    assert policy.key_by_id(team.key_id.removeprefix("sha256:")) is policy.keys[0]
    assert policy.key_by_id("") is None

    env = Envelope.parse(team.sign(statement()))
    tampered = Envelope(
        env.payload_type,
        statement(project="evil"),
        tuple(type(s)(pem_hash, s.sig) for s in env.signatures),
    )
    outcome = verify_envelope(tampered.to_json_bytes(), policy)
    assert outcome.reason == "bad_signature"
    assert outcome.key_id == team.key_id


def test_unknown_signature_without_key_id_is_no_trust_material(
    tmp_path: Path, policy: TrustPolicy
) -> None:
    stranger = Keys(tmp_path, "stranger")
    env = Envelope.parse(stranger.sign(statement()))
    anonymous = Envelope(
        env.payload_type, env.payload, tuple(type(s)("", s.sig) for s in env.signatures)
    )

    outcome = verify_envelope(anonymous.to_json_bytes(), policy)

    assert outcome.reason == "no_trust_material"
    assert "nothing identifies the signer" in (outcome.detail or "")
    assert outcome.signer is None
    assert outcome.key_id is None
    assert outcome.predicate_type == PREDICATE_TYPE


def test_out_of_scope_detail_names_the_scope(tmp_path: Path, team: Keys) -> None:
    scoped = load_policy(
        write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    projects: [a]\n")
    )
    outcome = verify_envelope(team.sign(statement(project="b")), scoped)
    assert "trusts only for projects a" in (outcome.detail or "")
    assert "'b'" in (outcome.detail or "")


def test_verify_document_on_an_envelope(team: Keys, policy: TrustPolicy) -> None:
    raw = team.sign(statement())

    outcome = verify_document(raw, policy)

    assert outcome == verify_envelope(raw, policy)
    assert outcome.verified
    assert outcome.format == "dsse"
    assert outcome.payload == statement()  # the exact signed bytes


def test_bare_statement_is_recorded_never_trusted(policy: TrustPolicy) -> None:
    outcome = verify_document(statement(), policy)

    assert outcome.status == NOT_VERIFIED
    assert outcome.reason == "no_trust_material"
    assert outcome.format == "statement"
    assert outcome.predicate_type == PREDICATE_TYPE
    assert outcome.statement is not None
    assert outcome.statement["predicate"]["workflow"]["project"] == "a"


def test_malformed_statement_keeps_its_predicate_type(team: Keys, policy: TrustPolicy) -> None:
    bad = json.dumps({"predicateType": PREDICATE_TYPE, "subject": "not a list"}).encode()
    outcome = verify_document(team.sign(bad), policy)
    assert outcome.reason == "malformed"
    assert outcome.predicate_type == PREDICATE_TYPE


def test_verify_files(tmp_path: Path, team: Keys, policy: TrustPolicy) -> None:
    good, bad = team.sign(statement()), b"junk"
    (tmp_path / "a.dsse.json").write_bytes(good)
    (tmp_path / "b.jsonl").write_bytes(good + b"\n\n" + bad + b"\n")

    results = list(verify_files([tmp_path / "a.dsse.json", tmp_path / "b.jsonl"], policy))

    assert [(r.source, r.outcome.status) for r in results] == [
        (str(tmp_path / "a.dsse.json"), VERIFIED),
        (f"{tmp_path / 'b.jsonl'}:1", VERIFIED),
        (f"{tmp_path / 'b.jsonl'}:3", NOT_VERIFIED),
    ]
    record = results[2].to_json()
    assert set(record) >= {"source", "status", "reason", "signer", "predicate_type"}
    assert record["reason"] == "malformed"
    assert results[0].to_json()["signer"] == team.rel_path


# --- revocation and the policy digest ---------------------------------------------------------


def _revoking(tmp_path: Path, team: Keys, when: str) -> TrustPolicy:
    return load_policy(
        write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    untrusted_after: {when}\n")
    )


def test_a_key_signature_first_seen_after_the_revocation_is_revoked(
    tmp_path: Path, team: Keys
) -> None:
    policy = _revoking(tmp_path, team, "2026-10-01T00:00:00Z")
    envelope = team.sign(statement())
    before = verify_document(envelope, policy, datetime(2026, 9, 30, 23, 59, tzinfo=UTC))
    assert before.verified
    at_cutoff = verify_document(envelope, policy, datetime(2026, 10, 1, tzinfo=UTC))
    assert at_cutoff.verified  # "after T": T itself is still trusted
    after = verify_document(envelope, policy, datetime(2026, 10, 1, 0, 0, 1, tzinfo=UTC))
    assert (after.status, after.reason) == (NOT_VERIFIED, "revoked")
    assert after.signer == team.rel_path and after.key_id == team.key_id
    assert "untrusted for signatures after 2026-10-01T00:00:00+00:00" in (after.detail or "")
    assert "first seen at 2026-10-01T00:00:01+00:00" in (after.detail or "")
    # without a lake, the time is now: every key revoked in the past refuses
    assert verify_document(envelope, policy).reason == "revoked"


def test_revocation_does_not_hide_a_bad_signature_or_a_scope(tmp_path: Path, team: Keys) -> None:
    policy = _revoking(tmp_path, team, "2020-01-01")
    tampered = json.loads(team.sign(statement()))
    tampered["payload"] = base64.b64encode(statement("b")).decode()
    assert verify_document(json.dumps(tampered).encode(), policy).reason == "bad_signature"
    scoped = load_policy(
        write_policy(
            tmp_path,
            f"keys:\n  - path: {team.rel_path}\n    projects: [x]\n"
            "    untrusted_after: 2020-01-01\n",
        )
    )
    assert verify_document(team.sign(statement("a")), scoped).reason == "untrusted_signer"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-01", datetime(2026, 10, 1, tzinfo=UTC)),
        ("'2026-10-01'", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-10-01T12:30:00+02:00", datetime(2026, 10, 1, 10, 30, tzinfo=UTC)),
        ("'2026-10-01T12:30:00Z'", datetime(2026, 10, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_untrusted_after_forms(tmp_path: Path, team: Keys, value: str, expected: datetime) -> None:
    assert _revoking(tmp_path, team, value).keys[0].untrusted_after == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("2026-10-01T12:30:00", "needs a timezone"),
        ("'2026-10-01T12:30:00'", "needs a timezone"),
        ("yesterday", "must be a time"),
        ("12", "must be a time"),
        ("[2026]", "must be a time"),
        ("9999-12-31T23:59:59-01:00", "out of range"),
        ("'0001-01-01T00:00:00+01:00'", "out of range"),
    ],
)
def test_untrusted_after_errors(tmp_path: Path, team: Keys, value: str, match: str) -> None:
    with pytest.raises(TrustPolicyError, match=match):
        _revoking(tmp_path, team, value)


def test_the_policy_digest_is_what_the_policy_trusts(tmp_path: Path, team: Keys) -> None:
    base = load_policy(write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n"))
    same = load_policy(
        write_policy(tmp_path, f"# a comment\nkeys:\n  - {team.rel_path}\nidentities: []\n")
    )
    assert base.digest == same.digest and base.digest.startswith("sha256:")
    scoped = load_policy(
        write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n    projects: [a]\n")
    )
    revoked = _revoking(tmp_path, team, "2026-10-01")
    other = Keys(tmp_path, "other")
    (tmp_path / team.rel_path).write_bytes((tmp_path / other.rel_path).read_bytes())
    replaced = load_policy(write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n"))
    digests = {base.digest, scoped.digest, revoked.digest, replaced.digest}
    assert len(digests) == 4
