"""Policies published to a store like contracts (``policy push``, ``policy pull``, ``policy
list --from``): signed, immutable revisions; pulled only when the trust policy's
declared_state verifies them; recorded by the crawler in ``published_documents``; and used by
the gate as ``--policy STORE#NAME@REVISION``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from attestlake import open_lake
from attestlake.contracts.publish import latest_tag, revision_tag
from attestlake.demo.demo import DemoResult
from attestlake.store import Manifest
from attestlake.store.layout import LayoutStore
from tests.integration.cli_helpers import GITHUB_ENV, Result, run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_policies_at_push import (
    COVERING,
    attest,
    contract,
    nothing_written,
    recorded,
)

#: A gating policy every run of the lake violates.
EVERY_RUN = """-- title: Every run is refused
-- description: A policy whose violations are every run: it proves a policy was applied.
-- severity: high
-- gate: true
SELECT run_id, project, workflow, 'refused by SecOps' AS violation FROM runs
"""


def _workspace(tmp: Path) -> None:
    """SecOps's key, a trust policy taking declared state from oci:secops, and the policy."""
    for name in ("secops", "other"):
        assert run_cli(tmp, "keys", "generate", "--out", name).code == 0
    (tmp / "trust.yaml").write_text(
        "declared_state:\n  stores: [oci:secops]\n  keys: [secops.pub]\nkeys: [secops.pub]\n"
    )
    (tmp / "every_run.sql").write_text(EVERY_RUN)


def _push(tmp: Path, *args: str, store: str = "oci:secops") -> Result:
    return run_cli(tmp, "policy", "push", "every_run.sql", "--to", store, *args)


def _tags(tmp: Path, store: str = "secops") -> dict[str, str]:
    layout = LayoutStore(tmp / store)
    return {tag: layout.resolve(tag) for tag in layout.tags()}


def test_revisions_increase_and_never_change(tmp_path: Path) -> None:
    _workspace(tmp_path)
    first = _push(tmp_path, "--key", "secops.key")
    assert first.code == 0, first.err
    assert first.out.startswith("published policy every_run revision 1, digest sha256:")
    assert "declaration signed by key sha256:" in first.out
    again = _push(tmp_path, "--key", "secops.key")
    assert again.code == 0
    assert again.out.startswith("unchanged: policy every_run revision 1 already has this content")
    r1 = (tmp_path / "every_run.sql").read_bytes()
    (tmp_path / "every_run.sql").write_text(EVERY_RUN.replace("refused by", "stopped by"))
    second = _push(tmp_path, "--key", "secops.key")
    assert second.code == 0 and "revision 2 (was 1)" in second.out
    before = _tags(tmp_path)
    assert sorted(before) == [
        "policy-every_run.latest",
        "policy-every_run.r1",
        "policy-every_run.r2",
    ]
    # another file under an existing revision is refused; nothing moves
    clash = _push(tmp_path, "--key", "secops.key", "--revision", "1")
    assert clash.code == 1
    assert "revision 1 is already published with other content" in clash.err
    assert "give --revision 3 or leave it out" in clash.err
    assert _tags(tmp_path) == before
    # the same file as an existing revision is that revision
    (tmp_path / "every_run.sql").write_bytes(r1)
    same = _push(tmp_path, "--key", "secops.key", "--revision", "1")
    assert same.code == 0 and same.out.startswith("unchanged: policy every_run revision 1")
    assert _tags(tmp_path) == before
    listed = run_cli(tmp_path, "policy", "list", "--from", "oci:secops", "--json")
    assert [(r["name"], r["revision"], r["latest"]) for r in listed.json()] == [
        ("every_run", 1, False),
        ("every_run", 2, True),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("SELECT 1\n", "header field 'title' is missing"),
        (EVERY_RUN.replace("-- severity: high", "-- severity: dire"), "unknown severity 'dire'"),
        (EVERY_RUN.replace("FROM runs", "FROM runs WHERE $x"), "uses $x but no '-- param: x"),
    ],
)
def test_a_file_that_is_not_a_policy_is_never_published(
    tmp_path: Path, content: str, message: str
) -> None:
    _workspace(tmp_path)
    (tmp_path / "every_run.sql").write_text(content)
    out = _push(tmp_path, "--key", "secops.key")
    assert out.code == 1
    assert out.err.startswith("error: ") and message in out.err
    assert not (tmp_path / "secops").exists()


def test_a_name_that_cannot_be_a_tag_is_refused(tmp_path: Path) -> None:
    _workspace(tmp_path)
    long = "a" * 64
    (tmp_path / f"{long}.sql").write_text(EVERY_RUN)
    out = run_cli(tmp_path, "policy", "push", f"{long}.sql", "--to", "oci:secops", "--unsigned")
    assert out.code == 1
    assert "names are lower-case, digits '_' and '-', at most 63 characters" in out.err
    assert not (tmp_path / "secops").exists()


def test_a_signer_or_unsigned_must_be_chosen(tmp_path: Path) -> None:
    _workspace(tmp_path)
    out = _push(tmp_path)
    assert out.code == 1 and "give one of --key PATH or --keyless" in out.err
    assert not (tmp_path / "secops").exists()


def test_pull_gives_the_exact_bytes_once_verified(tmp_path: Path) -> None:
    _workspace(tmp_path)
    r1 = (tmp_path / "every_run.sql").read_bytes()
    assert _push(tmp_path, "--key", "secops.key").code == 0
    (tmp_path / "every_run.sql").write_text(EVERY_RUN + "-- r2\n")
    assert _push(tmp_path, "--key", "secops.key").code == 0
    pull = ("policy", "pull", "every_run", "--from", "oci:secops", "--trust", "trust.yaml")
    newest = run_cli(tmp_path, *pull)
    assert newest.code == 0, newest.err
    assert newest.out == EVERY_RUN + "-- r2\n"
    old = run_cli(tmp_path, *pull, "--revision", "1", "--out", "got.sql")
    assert old.code == 0, old.err
    assert (tmp_path / "got.sql").read_bytes() == r1
    assert "policy every_run revision 1" in old.out and "verified: signed by secops.pub" in old.out
    missing = run_cli(tmp_path, *pull, "--revision", "7")
    assert missing.code == 1 and "revision 7 of policy every_run is not published" in missing.err
    neither = run_cli(tmp_path, "policy", "pull", "every_run", "--from", "oci:secops")
    assert neither.code == 1 and "give --trust POLICY" in neither.err
    unverified = run_cli(
        tmp_path, "policy", "pull", "every_run", "--from", "oci:secops", "--unverified"
    )
    assert unverified.code == 0 and unverified.out == EVERY_RUN + "-- r2\n"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("unsigned", "unsigned: published without a signed declaration"),
        ("other key", "(untrusted_signer)"),
        ("other store", "a store the trust policy's declared_state does not name"),
    ],
)
def test_pull_refuses_a_policy_that_is_not_secops(tmp_path: Path, how: str, reason: str) -> None:
    _workspace(tmp_path)
    store = "oci:elsewhere" if how == "other store" else "oci:secops"
    signing = {"unsigned": ("--unsigned",), "other key": ("--key", "other.key")}
    assert _push(tmp_path, *signing.get(how, ("--key", "secops.key")), store=store).code == 0
    out = run_cli(
        tmp_path, "policy", "pull", "every_run", "--from", store, "--trust", "trust.yaml",
        "--out", "got.sql",
    )  # fmt: skip
    assert out.code == 1, out.out
    assert "is not verified under the trust policy trust.yaml" in out.err
    assert reason in out.err
    assert not (tmp_path / "got.sql").exists()


def test_a_declaration_moved_to_another_file_or_name_is_refused(tmp_path: Path) -> None:
    """Someone with write access to the store re-tags: the latest tag of one policy at another
    policy's signed revision, and a signed revision's manifest with its file swapped."""
    _workspace(tmp_path)
    assert _push(tmp_path, "--key", "secops.key").code == 0
    (tmp_path / "lenient.sql").write_text(EVERY_RUN.replace("FROM runs", "FROM runs WHERE FALSE"))
    pushed = run_cli(
        tmp_path, "policy", "push", "lenient.sql", "--to", "oci:secops", "--key", "secops.key"
    )
    assert pushed.code == 0, pushed.err
    store = LayoutStore(tmp_path / "secops")
    lenient = store.get_manifest(revision_tag("policy", "lenient", 1))
    store.put_manifest(lenient, tag=latest_tag("policy", "every_run"))
    pull = ("policy", "pull", "every_run", "--from", "oci:secops", "--trust", "trust.yaml")
    moved = run_cli(tmp_path, *pull)
    assert moved.code == 1
    assert "holds policy 'lenient' revision 1, not 'every_run'" in moved.err
    # r1's manifest, its file swapped for the lenient one, its declaration kept
    genuine = store.get_manifest(revision_tag("policy", "every_run", 1))
    body = json.loads(genuine.raw)
    body["layers"][0] = json.loads(lenient.raw)["layers"][0]
    swapped = Manifest.parse(json.dumps(body).encode())
    store.put_manifest(swapped, tag=latest_tag("policy", "every_run"))
    out = run_cli(tmp_path, *pull)
    assert out.code == 1 and "(bad_signature)" in out.err, out.err
    assert not out.out


def test_the_crawler_records_published_policies(tmp_path: Path) -> None:
    _workspace(tmp_path)
    assert _push(tmp_path, "--key", "secops.key").code == 0
    assert _push(tmp_path, "--unsigned", store="oci:elsewhere").code == 0
    crawled = run_cli(
        tmp_path, "crawl", "--from", "oci:secops", "--from", "oci:elsewhere", "--lake", "lake",
        "--trust", "trust.yaml", "--json",
    )  # fmt: skip
    assert crawled.code == 0, crawled.err
    with open_lake(tmp_path / "lake") as lake:
        rows = lake.sql(
            "SELECT kind, name, revision, digest, status, reason, content, source "
            "FROM published_documents ORDER BY status DESC"
        ).to_pylist()
    digest = "sha256:" + hashlib.sha256(EVERY_RUN.encode()).hexdigest()
    assert [(r["kind"], r["name"], r["revision"], r["digest"], r["status"]) for r in rows] == [
        ("policy", "every_run", 1, digest, "verified"),
        ("policy", "every_run", 1, digest, "not_verified"),
    ]
    assert rows[0]["content"] == EVERY_RUN
    assert rows[0]["source"] == f"oci:{tmp_path / 'secops'}:policy-every_run.r1"
    assert rows[1]["reason"] == "untrusted_store"
    # re-evaluated from the kept bytes under a policy that trusts no declared state
    (tmp_path / "no-secops.yaml").write_text("keys: [secops.pub]\n")
    again = run_cli(tmp_path, "reverify", "--lake", "lake", "--trust", "no-secops.yaml")
    assert again.code == 0, again.err
    with open_lake(tmp_path / "lake") as lake:
        after = lake.sql("SELECT kind, status, reason FROM published_documents").to_pylist()
    assert (
        after == [{"kind": "policy", "status": "not_verified", "reason": "no_trust_material"}] * 2
    )


def test_the_gate_applies_a_published_policy_once_verified(
    tmp_path: Path, demo: DemoResult
) -> None:
    """The demo's good artifact passes the library's policies; a gating policy SecOps published
    refuses it, named STORE#NAME@REVISION and verified under the trust policy."""
    shutil.copy(demo.directory / "keys" / "secops.key", tmp_path / "secops.key")
    (tmp_path / "every_run.sql").write_text(EVERY_RUN)
    policies = f"oci:{tmp_path / 'policies'}"
    assert _push(tmp_path, "--key", "secops.key", store=policies).code == 0
    trust = tmp_path / "trust.yaml"
    trust.write_text(
        (demo.directory / "trust.yaml")
        .read_text()
        .replace("stores: [oci:store]", f"stores: ['oci:{demo.store}', '{policies}']")
        .replace("keys/", f"{demo.directory}/keys/")
    )
    with open_lake(demo.lake) as lake:
        (good,) = lake.sql(
            "SELECT s.digest FROM subjects AS s JOIN runs AS r USING (run_id, manifest_digest) "
            "WHERE r.workflow = 'api-build' ORDER BY r.started_at DESC LIMIT 1"
        ).to_pylist()
    store = f"oci:{demo.store}"
    base = ("gate", good["digest"], "--from", store, "--trust", str(trust))
    assert run_cli(tmp_path, *base).code == 0
    refused = run_cli(tmp_path, *base, "--policy", f"{policies}#every_run@1")
    assert refused.code == 3
    assert "violates policy every_run: refused by SecOps" in refused.out
    unverified = run_cli(
        tmp_path, "gate", good["digest"], "--from", store, "--trust",
        str(demo.directory / "trust.yaml"), "--policy", f"{policies}#every_run@1",
    )  # fmt: skip
    assert unverified.code == 1 and "untrusted_store" in unverified.err


@pytest.mark.registry
def test_published_to_a_registry_and_pulled_back(tmp_path: Path, registry: RegistryServer) -> None:
    _workspace(tmp_path)
    repo = f"{registry.host}/policies-{tmp_path.name[-8:].lower()}"
    (tmp_path / "trust.yaml").write_text(
        f"declared_state:\n  stores: [{repo}]\n  keys: [secops.pub]\nkeys: [secops.pub]\n"
    )
    assert _push(tmp_path, "--key", "secops.key", store=repo).code == 0
    again = _push(tmp_path, "--key", "secops.key", store=repo)
    assert again.out.startswith("unchanged: policy every_run revision 1")
    out = run_cli(tmp_path, "policy", "pull", "every_run", "--from", repo, "--trust", "trust.yaml")
    assert out.code == 0, out.err
    assert out.out == EVERY_RUN


# -- a contract naming a published policy ------------------------------------------------------
def _publish_for_collector(tmp: Path, *signing: str) -> dict[str, str]:
    """every_run published to oci:secops; the environment that gives the collector the trust
    policy verifying it (ATTESTLAKE_TRUST)."""
    _workspace(tmp)
    assert _push(tmp, *signing).code == 0
    (tmp / "trust.yaml").rename(tmp / "secops-trust.yaml")  # the runs' trust.yaml is the CI's
    return {**GITHUB_ENV, "ATTESTLAKE_TRUST": str(tmp / "secops-trust.yaml")}


def test_a_contract_names_a_published_policy_and_push_applies_it(tmp_path: Path) -> None:
    env = _publish_for_collector(tmp_path, "--key", "secops.key")
    refused = attest(tmp_path, "    - oci:secops#every_run@1", COVERING, env=env)
    assert refused.code == 3, refused.err
    assert "every_run" in refused.out + refused.err and "refused by SecOps" in refused.err
    nothing_written(tmp_path)
    # SecOps publishes a lenient revision 2; the contract pinned to it lets the run through
    (tmp_path / "every_run.sql").write_text(EVERY_RUN.replace("FROM runs", "FROM runs WHERE FALSE"))
    assert _push(tmp_path, "--key", "secops.key").code == 0
    pushed = attest(tmp_path, "    - oci:secops#every_run@2", COVERING, env=env)
    assert pushed.code == 0, pushed.err
    (evaluation,) = recorded(tmp_path)
    lenient = (tmp_path / "every_run.sql").read_bytes()
    assert (evaluation["name"], evaluation["status"]) == ("every_run", "passed")
    assert evaluation["digest"] == {"sha256": hashlib.sha256(lenient).hexdigest()}


@pytest.mark.parametrize(
    ("signing", "trusted", "message"),
    [
        (("--unsigned",), True, "unsigned: published without a signed declaration"),
        (("--key", "other.key"), True, "(untrusted_signer)"),
        (("--key", "secops.key"), False, "a published policy is used only once verified"),
    ],
)
def test_a_contract_naming_an_unverified_published_policy_never_starts(
    tmp_path: Path, signing: tuple[str, ...], trusted: bool, message: str
) -> None:
    env = _publish_for_collector(tmp_path, *signing)
    if not trusted:
        del env["ATTESTLAKE_TRUST"]
    (tmp_path / "contract.yaml").write_text(contract("    - oci:secops#every_run"))
    init = run_cli(
        tmp_path, "attest", "init", "--contract", "contract.yaml", "--workflow", "build",
        "--project", "app", env=env,
    )  # fmt: skip
    assert init.code == 1, init.out
    assert "contract app-build: policy every_run of oci:secops" in init.err and message in init.err
    assert not (tmp_path / ".attestlake").exists()
    lint = run_cli(tmp_path, "contract", "lint", "contract.yaml", env=env)
    assert lint.code == 1 and message in lint.err


@pytest.mark.parametrize("bad", ["oci:secops#", "oci:secops#Every", "oci:secops#x@0", "#x"])
def test_a_published_policy_reference_that_is_malformed_is_a_lint_error(
    tmp_path: Path, bad: str
) -> None:
    (tmp_path / "contract.yaml").write_text(contract(f"    - '{bad}'"))
    out = run_cli(tmp_path, "contract", "lint", "contract.yaml")
    assert out.code == 1
    assert "is not a published policy (STORE#NAME or STORE#NAME@REVISION" in out.err
