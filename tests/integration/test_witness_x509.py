"""in-toto witness envelopes signed with X.509 certificates and RFC 3161 timestamps, verified
against the CA roots, timestamp authorities and certificate constraints of the trust policy.

There is no witness binary here: the certificates, signatures and timestamps are made by
``openssl`` (``ca``, ``dgst``, ``ts -query``/``ts -reply``) and the envelopes written as
go-witness writes them (:mod:`tests.witness_pki`).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from attestlake.errors import TrustPolicyError
from attestlake.verify.outcome import NOT_VERIFIED, REVOKED, VERIFIED, Outcome
from attestlake.verify.verify import load_policy, verify_document
from tests.integration.cli_helpers import run_cli
from tests.witness_pki import (
    CODE_SIGNING,
    Issued,
    OpensslCA,
    OpensslTSA,
    b64,
    envelope,
    openssl,
    statement,
)

URI = "spiffe://example.com/ci/builder"
EMAIL = "ci@example.com"
NAMES = f"subjectAltName = URI:{URI}, email:{EMAIL}\n"
SERVER_AUTH = CODE_SIGNING.replace("codeSigning", "serverAuth")


@dataclass
class Pki:
    home: Path
    root: OpensslCA
    issuing: OpensslCA
    other: OpensslCA
    impostor: OpensslCA
    tsa: OpensslTSA
    rogue_tsa: OpensslTSA
    #: A witness envelope signed by a leaf that has expired since, timestamped while valid.
    expired: dict[str, Any]
    expired_unstamped: dict[str, Any]

    def leaf(
        self, name: str, extensions: str = CODE_SIGNING + NAMES, ca: OpensslCA | None = None
    ) -> Issued:
        return (ca or self.issuing).issue(name, "/CN=builder/O=Example", extensions)

    @property
    def chain(self) -> list[bytes]:
        return [self.issuing.issued.pem]

    def genuine(self, **kw: Any) -> dict[str, Any]:
        return envelope(self.leaf("genuine"), self.chain, tsas=[self.tsa], **kw)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    home = tmp_path_factory.mktemp("pki")
    root = OpensslCA.root(home / "root", "/CN=Example Build Root/O=Example")
    issuing = root.intermediate("issuing", "/CN=Example Build Issuing/O=Example")
    tsa = OpensslTSA(home / "tsa", OpensslCA.root(home / "tsa-root", "/CN=Example TSA Root"))
    # a leaf valid for a few seconds: it signs and is timestamped now, and has expired when
    # the tests run
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    short = issuing.issue("short", "/CN=builder/O=Example", CODE_SIGNING + NAMES, not_after=ends)
    body = statement("witness.example/earlier-build")
    expired = envelope(short, [issuing.issued.pem], tsas=[tsa], payload=body)
    expired_unstamped = envelope(short, [issuing.issued.pem], payload=body)
    pki = Pki(
        home,
        root,
        issuing,
        OpensslCA.root(home / "other", "/CN=Other Root/O=Other"),
        # another CA that calls itself the trusted root: its certificates name the trusted
        # root as their issuer, and are signed with another key
        OpensslCA.root(home / "impostor", "/CN=Example Build Root/O=Example"),
        tsa,
        OpensslTSA(home / "rogue", OpensslCA.root(home / "rogue-root", "/CN=Rogue TSA Root")),
        expired,
        expired_unstamped,
    )
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds() + 1.5))
    return pki


def policy(pki: Pki, path: Path, *, tsas: bool = True, **changes: Any) -> Path:
    """A trust policy trusting the build CA's builder (``changes`` replace the signer's
    fields, or the root's with ``root_`` prefixed names)."""
    signer: dict[str, Any] = {"uris": [URI], "emails": [EMAIL], "organizations": ["Example"]}
    root: dict[str, Any] = {"name": "build-ca", "certificate": str(pki.root.issued.cert)}
    for key, value in changes.items():
        target, field = (root, key[5:]) if key.startswith("root_") else (signer, key)
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    section: dict[str, Any] = {"roots": [root], "signers": [signer]}
    if tsas:
        chain = path.parent / "tsa-chain.pem"
        chain.write_bytes(pki.tsa.ca.issued.pem)
        section["timestamp_authorities"] = [{"name": "corp-tsa", "certificates": str(chain)}]
    path.write_text(yaml.safe_dump({"x509": section}))
    return path


def check(doc: dict[str, Any], policy_path: Path) -> Outcome:
    return verify_document(json.dumps(doc).encode(), load_policy(policy_path))


def refused(outcome: Outcome, reason: str, *words: str) -> None:
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, reason), outcome.detail
    for word in words:
        assert word in (outcome.detail or ""), outcome.detail


def test_a_genuine_envelope_is_verified_at_its_trusted_timestamp(pki: Pki, tmp_path: Path) -> None:
    doc = pki.genuine()
    outcome = check(doc, policy(pki, tmp_path / "p.yaml"))
    assert outcome.status == VERIFIED, outcome.detail
    assert outcome.signer == f"{URI}, {EMAIL}"
    assert outcome.issuer == "O=Example,CN=Example Build Root"
    assert outcome.format == "dsse"
    assert outcome.predicate_type == "https://witness.testifysec.com/attestation-collection/v0.1"
    assert "x509 root build-ca" in (outcome.detail or "")
    assert "by corp-tsa" in (outcome.detail or "")
    stamp = datetime.fromisoformat((outcome.detail or "").split("(")[-1].split(" by ")[0])
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)


def test_a_whole_timestamp_response_is_read_as_its_token(pki: Pki, tmp_path: Path) -> None:
    doc = pki.genuine()
    sig = base64.b64decode(doc["signatures"][0]["sig"])
    doc["signatures"][0]["timestamps"] = [
        {"type": "tsp", "data": b64(pki.tsa.token(sig, response=True))}
    ]
    assert check(doc, policy(pki, tmp_path / "p.yaml")).status == VERIFIED


def test_without_timestamp_authorities_the_chain_is_checked_now(pki: Pki, tmp_path: Path) -> None:
    outcome = check(pki.genuine(), policy(pki, tmp_path / "p.yaml", tsas=False))
    assert outcome.status == VERIFIED, outcome.detail
    assert "names no timestamp_authorities" in (outcome.detail or "")


def test_an_expired_certificate_verifies_at_the_time_of_its_timestamp(
    pki: Pki, tmp_path: Path
) -> None:
    with_tsa = policy(pki, tmp_path / "p.yaml")
    assert check(pki.expired, with_tsa).status == VERIFIED
    # checked now, the same envelope's certificate has expired
    now = policy(pki, tmp_path / "now.yaml", tsas=False)
    refused(check(pki.expired, now), "bad_signature", "CN=builder", "was not valid now")
    # the policy wants a trusted timestamp, and the envelope has none
    refused(check(pki.expired_unstamped, with_tsa), "no_trust_material", "no RFC 3161 timestamp")


def test_a_certificate_of_another_ca_is_an_untrusted_signer(pki: Pki, tmp_path: Path) -> None:
    doc = envelope(pki.leaf("elsewhere", ca=pki.other), [], tsas=[pki.tsa])
    outcome = check(doc, policy(pki, tmp_path / "p.yaml"))
    refused(outcome, "untrusted_signer", "issued by O=Other,CN=Other Root")
    assert outcome.signer == f"{URI}, {EMAIL}"  # recorded: who it claims to be


def test_a_certificate_forged_in_the_trusted_roots_name_is_a_bad_signature(
    pki: Pki, tmp_path: Path
) -> None:
    doc = envelope(pki.leaf("forged", ca=pki.impostor), [], tsas=[pki.tsa])
    refused(
        check(doc, policy(pki, tmp_path / "p.yaml")),
        "bad_signature",
        "does not verify with that CA's key",
    )


def test_a_missing_intermediate_breaks_the_chain_unless_the_policy_has_it(
    pki: Pki, tmp_path: Path
) -> None:
    doc = envelope(pki.leaf("alone"), [], tsas=[pki.tsa])
    refused(
        check(doc, policy(pki, tmp_path / "p.yaml")), "untrusted_signer", "an intermediate missing"
    )
    supplied = policy(pki, tmp_path / "q.yaml", root_intermediates=[str(pki.issuing.issued.cert)])
    assert check(doc, supplied).status == VERIFIED


def test_a_timestamp_of_an_untrusted_tsa_gives_no_trusted_time(pki: Pki, tmp_path: Path) -> None:
    doc = envelope(pki.leaf("rogue"), pki.chain, tsas=[pki.rogue_tsa])
    refused(
        check(doc, policy(pki, tmp_path / "p.yaml")),
        "untrusted_signer",
        "CN=rogue TSA",
        "not a timestamp authority",
    )
    # a trusted timestamp beside it is enough
    both = envelope(pki.leaf("both"), pki.chain, tsas=[pki.rogue_tsa, pki.tsa])
    assert check(both, policy(pki, tmp_path / "p.yaml")).status == VERIFIED


def test_a_timestamp_over_other_bytes_is_a_bad_signature(pki: Pki, tmp_path: Path) -> None:
    doc = envelope(pki.leaf("other-bytes"), pki.chain, tsas=[pki.tsa], stamp=b"another signature")
    refused(check(doc, policy(pki, tmp_path / "p.yaml")), "bad_signature", "over other bytes")


def test_a_tampered_payload_is_a_bad_signature(pki: Pki, tmp_path: Path) -> None:
    doc = pki.genuine()
    doc["payload"] = b64(statement("witness.example/evil"))
    refused(check(doc, policy(pki, tmp_path / "p.yaml")), "bad_signature", "changed after signing")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"uris": ["spiffe://example.com/ci/other"]},
            ["its uris (spiffe://example.com/ci/builder)"],
        ),
        ({"emails": None, "uris": None, "common_name": "release"}, ["its common name (builder)"]),
        # witness compares sets: a certificate with a name the constraint does not list fails
        ({"emails": None, "uris": [URI, "spiffe://example.com/ci/more"]}, ["its uris"]),
    ],
)
def test_a_certificate_outside_the_constraints_is_an_untrusted_signer(
    pki: Pki, tmp_path: Path, change: dict[str, Any], words: list[str]
) -> None:
    outcome = check(pki.genuine(), policy(pki, tmp_path / "p.yaml", **change))
    refused(outcome, "untrusted_signer", "not a signer of the trust policy", *words)


def test_constraints_that_match_verify(pki: Pki, tmp_path: Path) -> None:
    exact = policy(pki, tmp_path / "p.yaml", emails=None, uris=None, common_name="builder")
    assert check(pki.genuine(), exact).status == VERIFIED


def test_scope_and_revocation_apply_to_certificate_signers(pki: Pki, tmp_path: Path) -> None:
    scoped = policy(pki, tmp_path / "p.yaml", projects=["payments"])
    refused(check(pki.genuine(), scoped), "untrusted_signer", "trusts only for projects payments")
    revoked = policy(pki, tmp_path / "q.yaml", untrusted_after="2020-01-01T00:00:00Z")
    outcome = check(pki.genuine(), revoked)
    assert outcome.reason == REVOKED, outcome.detail
    assert "a timestamp by corp-tsa" in (outcome.detail or "")


def test_code_signing_usage_is_required_unless_the_root_accepts_any(
    pki: Pki, tmp_path: Path
) -> None:
    doc = envelope(pki.leaf("tls", SERVER_AUTH + NAMES), pki.chain, tsas=[pki.tsa])
    refused(
        check(doc, policy(pki, tmp_path / "p.yaml")),
        "bad_signature",
        "not a code-signing certificate",
    )
    relaxed = policy(pki, tmp_path / "q.yaml", root_extended_key_usage="any")
    assert check(doc, relaxed).status == VERIFIED


def test_key_signed_witness_envelopes_still_verify(corpus: Path, tmp_path: Path, pki: Pki) -> None:
    path = policy(pki, tmp_path / "p.yaml")
    data = yaml.safe_load(path.read_text())
    data["keys"] = [str(corpus / "keys" / "witness-ed25519.pub.pem")]
    path.write_text(yaml.safe_dump(data))
    for name in ("witness.cdx-att.dsse.json", "archivista.build.dsse.json"):
        outcome = verify_document((corpus / name).read_bytes(), load_policy(path))
        assert outcome.status == VERIFIED, (name, outcome.detail)
    refused(
        verify_document((corpus / "archivista.fail.dsse.json").read_bytes(), load_policy(path)),
        "untrusted_signer",
    )
    # and an x509 signature still verifies beside the keys
    assert check(pki.genuine(), path).status == VERIFIED


def test_a_certificate_signature_without_x509_trust_has_no_trust_material(
    pki: Pki, tmp_path: Path
) -> None:
    path = tmp_path / "keys.yaml"
    pub = tmp_path / "k.pub.pem"
    pub.write_bytes(openssl("pkey", "-in", pki.root.issued.key, "-pubout"))
    path.write_text(f"keys: [{pub}]\n")
    refused(check(pki.genuine(), path), "no_trust_material", "has no x509 roots")


def _with(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    doc["signatures"][0].update(fields)
    return doc


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"intermediates": [b64(b"\x30\x03\x02\x01\x00")] * 9}, ["9 intermediates, over 8"]),
        ({"intermediates": ["AA=="] * 100_000}, ["100000 intermediates, over 8"]),
        ({"timestamps": [{"type": "tsp", "data": "AA=="}] * 9}, ["9 timestamps, over 8"]),
        ({"certificate": b64(b"\x30\x82\xff\xff garbage")}, ["not a PEM or DER X.509 certificate"]),
        ({"intermediates": [b64(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")]},
         ["intermediate 1 is not a PEM or DER"]),
        ({"timestamps": [{"type": "tsp", "data": b64(b"\x30\x80garbage")}]}, ["timestamp 1 is not an RFC 3161"]),
        ({"timestamps": [{"type": "tsp", "data": b64(b"\x30\x84\xff\xff\xff\xff")}]}, ["timestamp 1 is not an RFC 3161"]),
        ({"timestamps": [{"type": "rekor", "data": "AA=="}]}, ["timestamps are not all"]),
        ({"timestamps": "tsp"}, ["timestamps is not a list"]),
        ({"certificate": 7}, ["certificate is not a base64 string"]),
    ],
)  # fmt: skip
def test_hostile_material_is_malformed(
    pki: Pki, tmp_path: Path, fields: dict[str, Any], words: list[str]
) -> None:
    outcome = check(_with(pki.genuine(), **fields), policy(pki, tmp_path / "p.yaml"))
    refused(outcome, "malformed", *words)


def test_several_certificates_in_certificate_are_malformed(pki: Pki, tmp_path: Path) -> None:
    leaf = pki.leaf("pair")
    doc = envelope(leaf, pki.chain, tsas=[pki.tsa])
    _with(doc, certificate=b64(leaf.pem + pki.issuing.issued.pem))
    refused(check(doc, policy(pki, tmp_path / "p.yaml")), "malformed", "holds 2 certificates")


def test_a_long_chain_of_real_intermediates_is_refused_not_walked(pki: Pki, tmp_path: Path) -> None:
    """Nine CAs, each certifying the next: more than a signature may carry."""
    ca, chain = pki.issuing, list[bytes]()
    for i in range(9):
        ca = ca.intermediate(f"deep{i}", f"/CN=Deep {i}/O=Example")
        chain.insert(0, ca.issued.pem)
    leaf = ca.issue("deep-leaf", "/CN=builder/O=Example", CODE_SIGNING + NAMES)
    doc = envelope(leaf, [b"".join([*chain, *pki.chain])])  # one PEM entry of ten
    refused(
        check(doc, policy(pki, tmp_path / "p.yaml")),
        "malformed",
        "10 intermediate certificates, over 8",
    )


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"roots": [], "signers": [{"uris": [URI]}]}, ["at least one certificate authority"]),
        ({"roots": [{"name": "a", "certificate": "missing.pem"}], "signers": [{"uris": [URI]}]},
         ["no such certificate file"]),
        ({"roots": [{"name": "a", "certificate": "root.pem"}], "signers": [{"roots": ["a"]}]},
         ["needs at least one of common_name"]),
        ({"roots": [{"name": "a", "certificate": "root.pem"}], "signers": [{"uri": [URI]}]},
         ["unknown field 'uri'"]),
        ({"roots": [{"name": "a", "certificate": "root.pem", "extended_key_usage": "tls"}],
          "signers": [{"uris": [URI]}]}, ["extended_key_usage must be code_signing"]),
        ({"roots": [{"name": "a", "certificate": "root.pem"}, {"name": "b", "certificate": "root.pem"}],
          "signers": [{"uris": [URI]}]}, ["needs 'roots'"]),
        ({"roots": [{"name": "a", "certificate": "root.pem"}], "signers": [{"uris": [URI], "roots": ["z"]}]},
         ["'z' is not one"]),
        ({"roots": [{"name": "a", "certificate": "garbage.pem"}], "signers": [{"uris": [URI]}]},
         ["is not a PEM certificate file"]),
        ({"roots": [{"name": "a", "certificate": "root.pem"}], "signers": [{"uris": [URI]}],
          "timestamp_authorities": [{"name": "t", "certificates": "leaf.pem"}]},
         ["holds no root (self-signed) certificate"]),
        ({"roots": [{"name": "a", "certificate": "root.pem"}], "signers": [{"emails": []}]},
         ["emails must not be empty"]),
    ],
)  # fmt: skip
def test_a_bad_x509_section_is_a_clear_policy_error(
    pki: Pki, tmp_path: Path, section: dict[str, Any], words: list[str]
) -> None:
    (tmp_path / "root.pem").write_bytes(pki.root.issued.pem)
    (tmp_path / "leaf.pem").write_bytes(pki.issuing.issued.pem)
    (tmp_path / "garbage.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"x509": section}))
    with pytest.raises(TrustPolicyError) as error:
        load_policy(path)
    for word in words:
        assert word in str(error.value)


def test_the_policy_digest_covers_the_x509_section(pki: Pki, tmp_path: Path) -> None:
    first = load_policy(policy(pki, tmp_path / "p.yaml")).digest
    assert load_policy(policy(pki, tmp_path / "p.yaml")).digest == first
    assert load_policy(policy(pki, tmp_path / "q.yaml", uris=[URI, "spiffe://x/y"])).digest != first
    assert load_policy(policy(pki, tmp_path / "r.yaml", tsas=False)).digest != first


def table(cwd: Path, sql: str) -> list[str]:
    out = run_cli(cwd, "sql", "--lake", "lake", "--format", "csv", sql)
    assert out.code == 0, out.err
    return out.out.splitlines()


def test_a_crawl_of_witness_envelopes_records_each_verdict(pki: Pki, tmp_path: Path) -> None:
    folder = tmp_path / "witness"
    folder.mkdir()
    tampered = pki.genuine()
    tampered["payload"] = b64(statement("witness.example/evil"))
    docs = {
        "a-genuine.json": pki.genuine(),
        "b-expired-stamped.json": pki.expired,
        "c-other-ca.json": envelope(pki.leaf("crawl-other", ca=pki.other), [], tsas=[pki.tsa]),
        "d-tampered.json": tampered,
        "e-rogue-tsa.json": envelope(pki.leaf("crawl-rogue"), pki.chain, tsas=[pki.rogue_tsa]),
        "f-garbage.json": _with(pki.genuine(), certificate=b64(b"garbage")),
    }
    for name, doc in docs.items():
        (folder / name).write_text(json.dumps(doc))
    trust = policy(pki, tmp_path / "trust.yaml")
    crawl = run_cli(tmp_path, "crawl", "--from", "witness", "--lake", "lake", "--trust", str(trust))
    assert crawl.code == 0, crawl.out + crawl.err
    rows = table(
        tmp_path,
        "SELECT source, status, reason, signer, issuer FROM verifications ORDER BY source",
    )
    who, root = f'"{URI}, {EMAIL}"', '"O=Example,CN=Example Build Root"'
    assert rows == [
        "source,status,reason,signer,issuer",
        f"witness/a-genuine.json,verified,,{who},{root}",
        f"witness/b-expired-stamped.json,verified,,{who},{root}",
        f'witness/c-other-ca.json,not_verified,untrusted_signer,{who},"O=Other,CN=Other Root"',
        f"witness/d-tampered.json,not_verified,bad_signature,{who},{root}",
        f'witness/e-rogue-tsa.json,not_verified,untrusted_signer,{who},"O=Example,CN=Example Build Issuing"',
        "witness/f-garbage.json,not_verified,malformed,,",
    ]
    trusted = table(tmp_path, "SELECT source FROM attestations WHERE trusted ORDER BY 1")
    assert trusted == ["source", "witness/a-genuine.json", "witness/b-expired-stamped.json"]
    verify = run_cli(tmp_path, "verify", str(folder / "a-genuine.json"), "--trust", str(trust))
    assert verify.code == 0, verify.out + verify.err
    assert "verified" in verify.out
