"""The real-world corpus, verified with the trust policy its README describes.

The policy is written in this project's format (into tmp_path, with absolute paths into the
corpus, which is read in place): the Sigstore identities of every ``verified`` row of
EXPECTED.tsv with their issuers, and the two corpus keys. The verified set must be exactly
EXPECTED.tsv's, and every other file must be present with its precise reason.
"""

from __future__ import annotations

import base64
import copy
import csv
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from attestlake.verify.outcome import NOT_VERIFIED, REASONS, VERIFIED, Outcome
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy, verify_document
from tests.integration.cli_helpers import run_cli

pytestmark = pytest.mark.corpus

# source (file, or file:N for line N of a JSON Lines file) -> (status, reason)
OUTCOMES: dict[str, tuple[str, str | None]] = {
    "sigstore-js.bundleV03-dsse.sigstore.json": (VERIFIED, None),
    # v0.1 bundle with an inclusion promise but no inclusion proof: a well-formed bundle that
    # sigstore-python (and so attestlake) cannot verify offline, whatever the policy
    "sigstore-js.bundleV01-dsse-no-proof.sigstore.json": (NOT_VERIFIED, "unsupported"),
    "sigstore-js.bundleV03-intoto.sigstore.json": (NOT_VERIFIED, "unsupported"),
    "gh.reusable-workflow-attestation.sigstore.json": (VERIFIED, None),
    "gh.provenance-demo-no-tlog.bundle.jsonl:1": (NOT_VERIFIED, "unsupported"),
    "bcr.MODULE.bazel.intoto.jsonl:1": (VERIFIED, None),
    "bcr.MODULE-wrong-signer.bazel.intoto.jsonl:1": (NOT_VERIFIED, "untrusted_signer"),
    "gce.vsa-p1363.dsse.jsonl:1": (VERIFIED, None),
    "witness.cdx-att.dsse.json": (VERIFIED, None),
    "archivista.build.dsse.json": (VERIFIED, None),
    # signed by another key (keyid 6316cb92..., a DER ECDSA signature that the ed25519 witness
    # key cannot have made), not a tampered witness envelope
    "archivista.fail.dsse.json": (NOT_VERIFIED, "untrusted_signer"),
    # one ECDSA signature with an empty keyid, by a key nobody publishes: nothing identifies
    # the signer
    "chainloop.full.dsse.json": (NOT_VERIFIED, "no_trust_material"),
    "chainloop.statement.v0.2.json": (NOT_VERIFIED, "no_trust_material"),
    # a private CA's certificate that names no identity (no SAN): nothing a policy can trust
    "chainloop.private-ca.sigstore.json": (NOT_VERIFIED, "no_trust_material"),
}
COLUMNS = ["file", "format", "expected", "signer", "issuer", "why"]
ARCHIVISTA_FAIL_KEY_ID = "6316cb923d1b8412880e49fb0245c0e5f5536674d1c2cc3e948476fdc9830453"


def expected_rows(corpus: Path) -> list[dict[str, str]]:
    with (corpus / "EXPECTED.tsv").open(newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    rows = list(csv.DictReader(lines, fieldnames=COLUMNS, delimiter="\t"))
    return [r for r in rows if r["expected"] in ("verified", "not-verified")]


def write_corpus_policy(directory: Path, corpus: Path) -> Path:
    """The policy of the corpus README, with absolute paths into the corpus."""
    identities = "".join(
        f"  - issuer: {json.dumps(r['issuer'])}\n    subject: {json.dumps(r['signer'])}\n"
        for r in expected_rows(corpus)
        if r["expected"] == "verified" and r["issuer"]
    )
    keys = "".join(
        f"  - path: {json.dumps(str(corpus / 'keys' / name))}\n"
        for name in ("gce-vsa.pub.pem", "witness-ed25519.pub.pem")
    )
    root = json.dumps(str(corpus / "keys" / "sigstore-prod.trusted_root.json"))
    path = directory / "corpus-trust.yaml"
    path.write_text(f"trusted_root: {root}\nidentities:\n{identities}keys:\n{keys}")
    return path


def corpus_documents(corpus: Path, name: str) -> Iterator[tuple[str, bytes]]:
    raw = (corpus / name).read_bytes()
    if not name.endswith(".jsonl"):
        yield name, raw
        return
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.strip():
            yield f"{name}:{number}", line


@pytest.fixture(scope="module")
def policy_path(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus_policy(tmp_path_factory.mktemp("policy"), corpus)


@pytest.fixture(scope="module")
def policy(policy_path: Path) -> TrustPolicy:
    return load_policy(policy_path)


@pytest.fixture(scope="module")
def outcomes(corpus: Path, policy: TrustPolicy) -> dict[str, Outcome]:
    return {
        source: verify_document(raw, policy)
        for row in expected_rows(corpus)
        for source, raw in corpus_documents(corpus, row["file"])
    }


def test_the_policy_trusts_what_the_readme_says(policy: TrustPolicy, corpus: Path) -> None:
    assert {i.issuer for i in policy.identities} == {
        "https://github.com/login/oauth",
        "https://token.actions.githubusercontent.com",
    }
    assert len(policy.identities) == 3
    assert not any("loosebazooka" in (i.subject or "") for i in policy.identities)
    assert [Path(k.path).name for k in policy.keys] == [
        "gce-vsa.pub.pem",
        "witness-ed25519.pub.pem",
    ]
    assert [r.source for r in policy.roots] == [
        str(corpus / "keys" / "sigstore-prod.trusted_root.json")
    ]


def test_every_attestation_file_of_the_corpus_is_covered(corpus: Path) -> None:
    on_disk = {p.name for p in corpus.iterdir() if p.suffix in (".json", ".jsonl")}
    assert on_disk == {r["file"] for r in expected_rows(corpus)}
    assert {s.split(":")[0] for s in OUTCOMES} == on_disk


def test_exactly_the_expected_set_is_verified(outcomes: dict[str, Outcome], corpus: Path) -> None:
    verified = {source.split(":")[0] for source, o in outcomes.items() if o.verified}
    expected = {r["file"] for r in expected_rows(corpus) if r["expected"] == "verified"}
    assert verified == expected
    assert set(outcomes) == set(OUTCOMES)


@pytest.mark.parametrize("source", sorted(OUTCOMES))
def test_outcome_reason_and_signer(source: str, outcomes: dict[str, Outcome], corpus: Path) -> None:
    outcome = outcomes[source]
    row = next(r for r in expected_rows(corpus) if r["file"] == source.split(":")[0])

    assert (outcome.status, outcome.reason) == OUTCOMES[source], outcome.detail
    assert outcome.verified == (row["expected"] == "verified")
    if not outcome.verified:
        assert outcome.reason in REASONS
        assert outcome.detail
    expected_format = row["format"].split(" (")[0].replace("in-toto statement", "statement")
    assert outcome.format == expected_format
    assert outcome.predicate_type  # read from the statement, verified or not
    if source == "archivista.fail.dsse.json":
        # EXPECTED.tsv names the witness key, but the key id and signature are another key's
        assert outcome.signer is None
        assert outcome.key_id == ARCHIVISTA_FAIL_KEY_ID
    elif row["signer"].startswith("keys/"):
        assert outcome.signer == str(corpus / row["signer"])
        assert outcome.key_id and outcome.key_id.startswith("sha256:")
    else:
        assert outcome.signer == (row["signer"] or None)
        assert outcome.issuer == (row["issuer"] or None)


def test_the_impersonation_is_reported_as_such(outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes["bcr.MODULE-wrong-signer.bazel.intoto.jsonl:1"]
    assert "impersonation" in (outcome.detail or "")
    assert "loosebazooka/aa-test" in (outcome.detail or "")
    assert outcome.issuer == "https://token.actions.githubusercontent.com"
    assert outcome.predicate_type == "https://slsa.dev/provenance/v1"


def test_unverified_content_stays_readable_for_inspection(outcomes: dict[str, Outcome]) -> None:
    bare = outcomes["chainloop.statement.v0.2.json"]
    assert bare.predicate_type == "chainloop.dev/attestation/v0.2"
    assert bare.statement is not None and bare.statement["subject"]
    full = outcomes["chainloop.full.dsse.json"]
    assert full.statement is not None
    assert full.predicate_type == "chainloop.dev/attestation/v0.2"
    assert full.payload is not None


def test_unsupported_details_say_why(outcomes: dict[str, Outcome]) -> None:
    detail = {s: outcomes[s].detail or "" for s in OUTCOMES if OUTCOMES[s][1] == "unsupported"}
    assert "no inclusion proof" in detail["sigstore-js.bundleV01-dsse-no-proof.sigstore.json"]
    assert "intoto/0.0.2" in detail["sigstore-js.bundleV03-intoto.sigstore.json"]
    no_tlog = detail["gh.provenance-demo-no-tlog.bundle.jsonl:1"]
    assert "no transparency log entry" in no_tlog
    assert "not a CA of the trusted root" in no_tlog  # GitHub's private Fulcio


# --- variations on real bundles -------------------------------------------------------------


def _bundle(corpus: Path, name: str) -> dict[str, Any]:
    return dict(json.loads(next(corpus_documents(corpus, name))[1]))


def _policy(tmp_path: Path, corpus: Path, identities: str) -> TrustPolicy:
    root = corpus / "keys" / "sigstore-prod.trusted_root.json"
    path = tmp_path / "policy.yaml"
    path.write_text(f"trusted_root: {json.dumps(str(root))}\nidentities:\n{identities}")
    return load_policy(path)


def test_a_changed_payload_is_a_bad_signature(corpus: Path, policy: TrustPolicy) -> None:
    bundle = _bundle(corpus, "sigstore-js.bundleV03-dsse.sigstore.json")
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha512"] = "0" * 128
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    outcome = verify_document(json.dumps(bundle).encode(), policy)

    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature")
    assert outcome.signer == "brian@dehamer.com"


def test_subject_regex_and_scopes(tmp_path: Path, corpus: Path) -> None:
    gh = "https://token.actions.githubusercontent.com"
    raw = next(corpus_documents(corpus, "bcr.MODULE.bazel.intoto.jsonl"))[1]
    by_regex = _policy(
        tmp_path,
        corpus,
        f"  - issuer: {gh}\n    subject_regex: ^https://github\\.com/bazel-contrib/\n",
    )
    assert verify_document(raw, by_regex).verified

    # the right identity, scoped to a project: SLSA provenance names no attestlake project
    scoped = _policy(
        tmp_path,
        corpus,
        f"  - issuer: {gh}\n    subject_regex: ^https://github\\.com/bazel-contrib/\n"
        "    projects: [payments]\n",
    )
    outcome = verify_document(raw, scoped)
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "untrusted_signer")
    assert "trusts only for projects payments" in (outcome.detail or "")

    wrong_issuer = _policy(
        tmp_path,
        corpus,
        "  - issuer: https://accounts.google.com\n    subject_regex: ^https://github\\.com/\n",
    )
    assert verify_document(raw, wrong_issuer).reason == "untrusted_signer"


def test_a_revoked_identity_is_revoked_for_what_its_certificate_allowed_after(
    tmp_path: Path, corpus: Path
) -> None:
    """A keyless signature counts as made at its certificate's end of validity: revoked from a
    time before it, verified from a time after it."""
    from cryptography import x509

    gh = "https://token.actions.githubusercontent.com"
    raw = next(corpus_documents(corpus, "bcr.MODULE.bazel.intoto.jsonl"))[1]
    bundle = json.loads(raw)
    der = base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    not_after = x509.load_der_x509_certificate(der).not_valid_after_utc
    identity = f"  - issuer: {gh}\n    subject_regex: ^https://github\\.com/bazel-contrib/\n"

    def revoked_at(when: datetime) -> Outcome:
        text = identity + f"    untrusted_after: {when.isoformat()}\n"
        return verify_document(raw, _policy(tmp_path, corpus, text))

    before = revoked_at(not_after - timedelta(seconds=1))
    assert (before.status, before.reason) == (NOT_VERIFIED, "revoked")
    assert "untrusted for signatures after" in (before.detail or "")
    assert before.signer and before.signer.startswith("https://github.com/bazel-contrib/")
    assert revoked_at(not_after).verified
    assert revoked_at(not_after + timedelta(days=365)).verified


def test_the_embedded_public_good_root_verifies_offline(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    subject = (
        "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
        "@09b495c3f12c7881b3cc17209a327792065c1a1d"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(
        "identities:\n  - issuer: https://token.actions.githubusercontent.com\n"
        f"    subject: {subject}\n"
    )
    raw = (corpus / "gh.reusable-workflow-attestation.sigstore.json").read_bytes()
    assert verify_document(raw, load_policy(path)).verified


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in items:
        yield from _paths(value, (*prefix, key))


#: Mutations of a verified bundle that still verify, and why that is right: the RFC 3161
#: timestamps are optional when the log entry gives the signing time, so an absent (None) or
#: empty timestamp block changes nothing that is signed or checked.
STILL_VERIFIES = {("verificationMaterial", "timestampVerificationData"): (None, {})}


def test_wrong_types_in_every_field_of_a_real_bundle(tmp_path: Path, corpus: Path) -> None:
    bundle = _bundle(corpus, "gh.reusable-workflow-attestation.sigstore.json")
    policy = _policy(
        tmp_path,
        corpus,
        "  - issuer: https://token.actions.githubusercontent.com\n"
        "    subject: https://github.com/github/artifact-attestations-workflows/.github/"
        "workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d\n",
    )
    assert verify_document(json.dumps(bundle).encode(), policy).verified
    verified = []
    for path in _paths(bundle):
        for value in (None, 0, "x", "", [], {}):
            mutated = copy.deepcopy(bundle)
            target = mutated
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
            outcome = verify_document(json.dumps(mutated).encode(), policy)
            if outcome.verified:
                verified.append((path, value))
            else:
                assert outcome.reason in REASONS and outcome.reason != "internal_error", path
    assert verified == [(path, v) for path, values in STILL_VERIFIES.items() for v in values]


# --- the command line -----------------------------------------------------------------------


def test_cli_verify_json(tmp_path: Path, corpus: Path, policy_path: Path) -> None:
    files = sorted(str(corpus / r["file"]) for r in expected_rows(corpus))

    result = run_cli(tmp_path, "verify", *files, "--trust", str(policy_path), "--format", "json")

    assert result.code == 1, result.err
    records = result.json()
    assert isinstance(records, list)
    by_source = {Path(r["source"]).name: r for r in records}
    assert set(by_source) == set(OUTCOMES)
    for source, (status, reason) in OUTCOMES.items():
        record = by_source[source]
        assert (record["status"], record["reason"]) == (status, reason), source
        assert {"signer", "predicate_type", "detail", "issuer", "key_id"} <= set(record)
    not_verified = sum(1 for s, _ in OUTCOMES.values() if s == NOT_VERIFIED)
    assert result.err.strip() == f"{not_verified} of {len(OUTCOMES)} not verified"


def test_cli_verify_table_exits_0_when_all_verified(
    tmp_path: Path, corpus: Path, policy_path: Path
) -> None:
    files = [
        str(corpus / "bcr.MODULE.bazel.intoto.jsonl"),
        str(corpus / "witness.cdx-att.dsse.json"),
    ]

    result = run_cli(tmp_path, "verify", *files, "--trust", str(policy_path))

    assert result.code == 0, result.err
    header = result.out.splitlines()[0].split()
    assert header == ["source", "status", "reason", "signer", "predicate_type"]
    assert "bcr.MODULE.bazel.intoto.jsonl:1" in result.out
    assert result.err.strip() == "all 2 verified"


def test_cli_verify_table_keeps_file_and_line_of_long_paths(
    tmp_path: Path, corpus: Path, policy_path: Path
) -> None:
    deep = tmp_path / ("a-directory-with-a-long-name-" * 3) / "attestations"
    deep.mkdir(parents=True)
    names = ["bcr.MODULE.bazel.intoto.jsonl", "witness.cdx-att.dsse.json"]
    for name in names:
        (deep / name).write_bytes((corpus / name).read_bytes())

    result = run_cli(
        tmp_path, "verify", *(str(deep / n) for n in names), "--trust", str(policy_path)
    )

    assert result.code == 0, result.err
    rows = result.out.splitlines()[2:]
    assert len(rows) == 2
    assert all(row.startswith("…") for row in rows)
    assert "bcr.MODULE.bazel.intoto.jsonl:1 " in rows[0]
    assert "witness.cdx-att.dsse.json " in rows[1]


def test_cli_verify_table_says_why_each_envelope_is_not_verified(
    tmp_path: Path, corpus: Path, policy_path: Path
) -> None:
    hostile = tmp_path / "evil\x1b[2J\u202e.json"
    hostile.write_text("{")
    files = [
        str(corpus / "bcr.MODULE.bazel.intoto.jsonl"),
        str(corpus / "bcr.MODULE-wrong-signer.bazel.intoto.jsonl"),
        str(hostile),
    ]

    result = run_cli(tmp_path, "verify", *files, "--trust", str(policy_path))

    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith(f"{files[1]}:1: impersonation: the Sigstore signature is valid")
    assert "malicious_attestation.yaml" in lines[0]
    escaped = str(tmp_path / "evil\\x1b[2J\\u202e.json")
    assert lines[1].startswith(f"{escaped}: document is not JSON")
    assert lines[2:] == ["2 of 3 not verified"]
    assert "\x1b" not in result.err and "\u202e" not in result.err + result.out


def test_cli_verify_errors(tmp_path: Path, corpus: Path, policy_path: Path) -> None:
    missing = run_cli(tmp_path, "verify", "absent.json", "--trust", str(policy_path))
    assert missing.code == 1
    assert "absent.json: no such file" in missing.err
    bad_format = run_cli(
        tmp_path,
        "verify",
        str(corpus / "witness.cdx-att.dsse.json"),
        "--trust",
        str(policy_path),
        "--format",
        "xml",
    )
    assert bad_format.code == 2
    assert "'xml' is not one of: table, json" in bad_format.err
