"""The deploy gate without a lake (``gate --from``), on the demo's OCI layout store: each
answer (passed or refused, the runs, every reason, the exit code) is the one ``gate --lake``
gives after a crawl of the same store under the same trust policy."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.demo.demo import DemoResult
from tests.integration.cli_helpers import Result, run_cli


def _one(lake: Path, sql: str) -> str:
    with open_lake(lake) as opened:
        rows: list[dict[str, Any]] = opened.sql(sql).to_pylist()
    assert rows, sql
    return str(rows[0]["digest"])


def _newest(workflow: str, where: str = "TRUE") -> str:
    return (
        "SELECT s.digest FROM subjects AS s JOIN runs AS r USING (run_id, manifest_digest) "
        f"WHERE s.digest IS NOT NULL AND r.workflow = '{workflow}' AND {where} "
        "ORDER BY r.started_at DESC LIMIT 1"
    )


def _claimed(reason: str) -> str:
    """The artifact a statement that did not verify (for ``reason``) claims to have built."""
    return (
        "SELECT 'sha256:' || json_extract_string(a.subjects, '$[0].digest.sha256') AS digest "
        "FROM attestations AS a JOIN verifications AS v USING (manifest_digest, envelope_digest) "
        f"WHERE v.reason = '{reason}' AND a.subjects <> '[]' ORDER BY a.source LIMIT 1"
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, demo: DemoResult) -> Path:
    """A lake crawled from the demo's store under the demo's trust policy, as a user would."""
    where = tmp_path_factory.mktemp("gate-from")
    out = run_cli(
        where, "crawl", "--from", f"oci:{demo.store}", "--lake", "lake",
        "--trust", str(demo.directory / "trust.yaml"), "--jobs", "1",
    )  # fmt: skip
    assert out.code == 0, out.err
    return where / "lake"


def _gate(cwd: Path, subject: str, *source: str, trust: Path) -> Result:
    return run_cli(cwd, "gate", subject, *source, "--trust", str(trust), "--json")


CASES = {
    # a verified, successful run of an inventoried workflow, newest contract, no violation
    "good": (_newest("api-build"), 0, None),
    # built against contract revision 1 while revision 2 is current
    "old contract": (
        _newest("base-images", "r.contract_revision = 1"),
        3,
        "revision 1; revision 2 is current",
    ),
    # the newest base image: its run has no SBOM (gating policy sbom_covers_image)
    "failed policy": (
        _newest("base-images", "r.contract_revision = 2"),
        3,
        "violates policy sbom_covers_image: no SBOM material in the run",
    ),
    # a statement changed after it was signed, and one signed by a key nobody trusts
    "forged": (_claimed("bad_signature"), 3, "no verified run built"),
    "untrusted signer": (_claimed("untrusted_signer"), 3, "no verified run built"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_answer_from_the_store_is_the_lakes(
    tmp_path: Path, demo: DemoResult, crawled: Path, case: str
) -> None:
    sql, code, reason = CASES[case]
    digest = _one(demo.lake, sql)
    trust = demo.directory / "trust.yaml"
    from_store = _gate(tmp_path, digest, "--from", f"oci:{demo.store}", trust=trust)
    from_lake = _gate(tmp_path, digest, "--lake", str(crawled), trust=trust)
    assert (from_store.code, from_lake.code) == (code, code), (from_store.err, from_lake.err)
    assert from_store.json() == from_lake.json()
    answer = from_store.json()
    assert answer["passed"] is (code == 0)
    if reason is None:
        assert answer["reasons"] == [] and answer["runs"]
    else:
        assert any(reason in r for r in answer["reasons"]), answer["reasons"]
        assert reason in from_store.err  # the refusal names it on stderr too
    assert not list(tmp_path.iterdir())  # no lake, no scratch left behind


def test_an_unattested_file_is_refused(tmp_path: Path, demo: DemoResult, crawled: Path) -> None:
    (tmp_path / "app.tar").write_bytes(b"an artifact nobody attested")
    trust = demo.directory / "trust.yaml"
    out = _gate(tmp_path, "app.tar", "--from", f"oci:{demo.store}", trust=trust)
    assert out.code == 3
    assert out.json()["runs"] == [] and "no verified run built" in out.json()["reasons"][0]
    assert out.json() == _gate(tmp_path, "app.tar", "--lake", str(crawled), trust=trust).json()


def test_a_trust_policy_without_declared_state_lets_nothing_ship(
    tmp_path: Path, demo: DemoResult
) -> None:
    """The runs verify, but no inventory or published contract is trusted: refused, saying
    both, as the lake gate does."""
    keys = demo.directory / "keys"
    (tmp_path / "runs-only.yaml").write_text(f"keys:\n  - path: {keys / 'ci.pub'}\n")
    digest = _one(demo.lake, _newest("api-build"))
    out = _gate(tmp_path, digest, "--from", f"oci:{demo.store}", trust=tmp_path / "runs-only.yaml")
    assert out.code == 3, out.err
    reasons = " ".join(out.json()["reasons"])
    assert "the workflow is not in the current inventory" in reasons
    assert "no trusted published revision of contract" in reasons


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "oci:store"), "--from needs --trust POLICY"),
        (("--from", "oci:store", "--lake", "lake", "--trust", "t.yaml"), "give --lake LAKE, or"),
        ((), "give --lake LAKE, or --from STORE"),
    ],
)
def test_lake_or_stores_and_trust_are_required(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = run_cli(tmp_path, "gate", "sha256:" + "a" * 64, *args)
    assert out.code == 1
    assert out.err.startswith("error: ") and message in out.err
    assert not list(tmp_path.iterdir())


def test_a_store_that_is_not_there_is_an_error_not_an_answer(
    tmp_path: Path, demo: DemoResult
) -> None:
    trust = demo.directory / "trust.yaml"
    out = _gate(tmp_path, "sha256:" + "a" * 64, "--from", "oci:nowhere", trust=trust)
    assert out.code == 1, out.out
    assert out.err.startswith("error: ") and "nowhere" in out.err
    assert "gate --from answers only from stores that hold something" in out.err
    assert "--allow-empty" not in out.err  # the crawler's hint: the gate has no such option
    assert not out.out and not (tmp_path / "nowhere").exists()


def test_the_answer_as_json_and_vsa_from_the_store(tmp_path: Path, demo: DemoResult) -> None:
    """--emit-vsa and --sarif work the same without a lake: the VSA names the store's run."""
    assert run_cli(tmp_path, "keys", "generate", "--out", "gate").code == 0
    digest = _one(demo.lake, _newest("api-build"))
    out = run_cli(
        tmp_path, "gate", digest, "--from", f"oci:{demo.store}",
        "--trust", str(demo.directory / "trust.yaml"),
        "--emit-vsa", "vsa.json", "--key", "gate.key", "--sarif", "gate.sarif",
    )  # fmt: skip
    assert out.code == 0, out.err
    assert out.out.startswith(f"PASS: {digest}")
    sarif = json.loads((tmp_path / "gate.sarif").read_text())
    assert sarif["runs"][0]["results"] == []
    (tmp_path / "gate-trust.yaml").write_text("keys: [gate.pub]\n")
    verified = run_cli(
        tmp_path, "verify", "vsa.json", "--trust", "gate-trust.yaml", "--format", "json"
    )
    assert verified.code == 0, verified.err
    assert verified.json()[0]["predicate_type"] == "https://slsa.dev/verification_summary/v1"
    envelope = json.loads((tmp_path / "vsa.json").read_text())
    predicate = json.loads(base64.b64decode(envelope["payload"]))["predicate"]
    assert predicate["verificationResult"] == "PASSED"
    uris = [a["uri"] for a in predicate["inputAttestations"]]
    assert uris and all(uri.startswith(f"oci:{demo.store}:run-") for uri in uris)


def test_a_store_not_read_whole_is_an_error_not_an_answer(tmp_path: Path, demo: DemoResult) -> None:
    """A referrers index the store lists but cannot give could hide the run or a newer
    contract revision: the gate answers nothing (exit 1), neither pass nor refusal."""
    shutil.copytree(demo.store, tmp_path / "store")
    index = tmp_path / "store" / "index.json"
    listing = json.loads(index.read_text())
    listing["manifests"].append(
        {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": "sha256:" + "0" * 64,
            "size": 10,
            "annotations": {"org.opencontainers.image.ref.name": "sha256-" + "1" * 64},
        }
    )
    index.write_text(json.dumps(listing))
    digest = _one(demo.lake, _newest("api-build"))
    out = _gate(tmp_path, digest, "--from", "oci:store", trust=demo.directory / "trust.yaml")
    assert out.code == 1, out.out
    assert "the stores could not be read whole, so the gate does not answer" in out.err
    assert "referrers index unreadable" in out.err
    assert not out.out
