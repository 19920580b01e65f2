"""Verdicts follow the trust policy: a changed policy re-evaluates the lake from its kept bytes.

On a copy of the demo lake (150 runs, one key for CI, one scoped release key): a re-evaluation
under another policy gives, row for row, the lake a first crawl under that policy gives; going
back gives the original lake; a crawl under another policy re-evaluates first; the saved query
``trust_changes`` lists what moved; a revocation date separates envelopes the lake saw before
it from those it saw after; an interrupted re-evaluation is finished by the next one; a lake
whose bytes were not kept is refused, unchanged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from attestlake import open_lake
from attestlake.crawl.crawl import crawl
from attestlake.crawl.job import reverify_job
from attestlake.crawl.sources import open_source
from attestlake.demo.demo import DemoResult
from attestlake.errors import LakeError
from attestlake.lake.consistency import check
from attestlake.lake.delta import open_table
from attestlake.lake.file_layout import LOG_STATISTICS
from attestlake.lake.maintained_views import MAINTAINED
from attestlake.lake.tables import ATTESTATIONS, BLOBS, REBUILT_TABLES, VERIFICATIONS
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests.demo_lake import NOW, copy_demo
from tests.integration.cli_helpers import run_cli
from tests.integration.test_crawl_store import lake_rows

#: The demo's run signers, with the CI key revoked from 2020 on (every demo run is later) and
#: the release key unscoped.
REVOKED_CI = """\
keys:
  - path: keys/ci.pub
    untrusted_after: 2020-01-01T00:00:00Z
  - path: keys/release.pub
"""


def _sql(lake: Path, query: str, **params: Any) -> list[dict[str, Any]]:
    with open_lake(lake) as opened:
        rows: list[dict[str, Any]] = opened.sql(query, params or None).to_pylist()
        return rows


def _rebuilt(lake: Path, *, maintained: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every rebuilt table's rows, sorted (crawl ids and batches left out), then (when
    ``maintained``) every maintained table's, which must be current."""
    rows = lake_rows(lake, maintained=maintained)
    names = [t.name for t in REBUILT_TABLES] + [m.name for m in MAINTAINED if maintained]
    return {name: rows[name] for name in names}


def _org(directory: Path, demo: DemoResult) -> Path:
    """A copy of the demo; its policies take declared state from the store the demo lake's
    rows name (the original demo's: a store is named by its absolute path)."""
    directory = copy_demo(demo, directory)
    declared = f"declared_state:\n  stores: ['oci:{demo.store}']\n  keys: [keys/secops.pub]\n"
    policy = (directory / "trust.yaml").read_text()
    assert "stores: [oci:store]" in policy
    (directory / "trust.yaml").write_text(
        policy.replace("stores: [oci:store]", f"stores: ['oci:{demo.store}']")
    )
    (directory / "revoked-ci.yaml").write_text(REVOKED_CI + declared)
    return directory


@pytest.fixture
def org(tmp_path: Path, demo: DemoResult) -> Path:
    return _org(tmp_path / "demo", demo)


@dataclass(frozen=True)
class Revoked:
    """A copy of the demo re-evaluated with ``attestlake reverify --json`` under the policy
    that revokes the CI key, and a first crawl of the demo's store under that policy."""

    org: Path
    summary: dict[str, Any]
    fresh: Path


@pytest.fixture(scope="module")
def revoked(tmp_path_factory: pytest.TempPathFactory, demo: DemoResult) -> Revoked:
    org = _org(tmp_path_factory.mktemp("revoked") / "demo", demo)
    out = run_cli(org, "reverify", "--lake", "lake", "--trust", "revoked-ci.yaml", "--json")
    assert out.code == 0, out.err
    _first_crawl(demo, org / "fresh", org / "revoked-ci.yaml")
    return Revoked(org, out.json(), org / "fresh")


def _verified_by(lake: Path, signer: str) -> int:
    found = _sql(
        lake,
        "SELECT count(*) AS n FROM verifications WHERE status = 'verified' AND signer = $s",
        s=signer,
    )
    return int(found[0]["n"])


def _first_crawl(demo: DemoResult, lake: Path, policy: Path) -> None:
    """A first crawl of the demo's store (the path the demo lake's ``source`` columns name)."""
    crawl(LayoutStore(demo.store), lake, load_policy(policy), now=NOW, jobs=1)


def _verified(lake: Path) -> set[tuple[str, str]]:
    return {
        (r["manifest_digest"], r["envelope_digest"])
        for r in _sql(lake, "SELECT * FROM verifications WHERE status = 'verified'")
    }


def test_reverify_equals_a_first_crawl_under_the_new_policy(
    revoked: Revoked, demo: DemoResult
) -> None:
    lake = revoked.org / "lake"
    ci_verified = _verified_by(demo.lake, "keys/ci.pub")
    assert ci_verified > 200  # the demo's CI runs, the baseline of what must leave
    assert _rebuilt(lake) == _rebuilt(revoked.fresh)
    assert revoked.summary["changes"]["untrusted"] == ci_verified
    assert _verified_by(lake, "keys/ci.pub") == 0
    found = _sql(lake, "SELECT reason, detail FROM verifications WHERE signer = 'keys/ci.pub'")
    reasons = [r["reason"] for r in found]
    assert reasons.count("revoked") == ci_verified
    assert set(reasons) == {"revoked", "bad_signature"}  # the demo's tampered envelope stays
    assert all(
        "untrusted for signatures after 2020-01-01" in r["detail"]
        for r in found
        if r["reason"] == "revoked"
    )
    digests = _sql(lake, "SELECT DISTINCT policy_digest FROM verifications")
    assert digests == [{"policy_digest": load_policy(revoked.org / "revoked-ci.yaml").digest}]
    assert not check(lake).problems
    for table in (VERIFICATIONS, ATTESTATIONS):  # replaced, with the table's own settings
        configuration = open_table(lake, table).metadata().configuration
        assert configuration[LOG_STATISTICS] == ",".join(table.log_statistics)


def test_reverify_json_summary(revoked: Revoked) -> None:
    data = revoked.summary
    assert data["policy_before"] == load_policy(revoked.org / "trust.yaml").digest
    assert data["policy_after"] == load_policy(revoked.org / "revoked-ci.yaml").digest
    lake = revoked.org / "lake"
    assert data["units"] == len(_sql(lake, "SELECT DISTINCT manifest_digest FROM blobs"))
    assert data["rows_after"]["runs"] == _sql(lake, "SELECT count(*) AS n FROM runs")[0]["n"]


def test_trust_changes_lists_what_moved(revoked: Revoked, demo: DemoResult) -> None:
    was_verified, now_verified = _verified(demo.lake), _verified(revoked.org / "lake")
    listed = run_cli(
        revoked.org, "query", "run", "trust_changes", "--lake", "lake", "--format", "json"
    )
    assert listed.code == 0, listed.err
    rows = listed.json()["rows"]
    moved = {
        change: {
            (r["manifest_digest"], r["envelope_digest"]) for r in rows if r["change"] == change
        }
        for change in ("trusted", "untrusted")
    }
    assert moved["untrusted"] == was_verified - now_verified
    assert moved["trusted"] == now_verified - was_verified
    assert moved["trusted"]  # the release key, unscoped, now verifies the out-of-scope run
    assert all(r["reason_after"] == "revoked" for r in rows if r["change"] == "untrusted")


def test_a_crawl_under_another_policy_reverifies_first_and_going_back_restores_every_row(
    org: Path, demo: DemoResult
) -> None:
    lake = org / "lake"
    before = _rebuilt(lake)
    blobs = _sql(lake, f"SELECT count(*) AS n FROM {BLOBS.name}")
    runs = _sql(lake, "SELECT count(*) AS n FROM runs")[0]["n"]
    out = run_cli(
        org, "crawl", "--from", "store", "--lake", "lake", "--trust", "revoked-ci.yaml", "--json"
    )
    assert out.code == 0, out.err
    summary = out.json()
    assert summary["ingested"] == 0 and summary["already_known"] == summary["discovered"]
    reverified = summary["reverified"]
    assert reverified["policy_after"] == load_policy(org / "revoked-ci.yaml").digest
    assert reverified["rows_before"]["runs"] == runs
    assert reverified["rows_after"]["runs"] == _sql(lake, "SELECT count(*) AS n FROM runs")[0]["n"]
    assert reverified["rows_after"]["runs"] < runs
    again = run_cli(
        org, "crawl", "--from", "store", "--lake", "lake", "--trust", "revoked-ci.yaml", "--json"
    )
    assert again.code == 0 and again.json()["reverified"] is None  # same policy: nothing to do

    back = run_cli(org, "reverify", "--lake", "lake", "--trust", "trust.yaml")
    assert back.code == 0, back.err
    # the CI key's runs come back; the release key is scoped again
    assert ", 1 no longer trusted," in back.out and " now trusted" in back.out
    assert _rebuilt(lake) == before
    assert _sql(lake, f"SELECT count(*) AS n FROM {BLOBS.name}") == blobs  # kept, never rebuilt
    assert not check(lake).problems


def test_revocation_date_separates_what_the_lake_saw_before_and_after(org: Path) -> None:
    """A key signature carries no time: the lake's first sight of an envelope bounds it."""
    lake = org / "lake"
    one = _sql(
        lake,
        "SELECT manifest_digest, envelope_digest FROM verifications "
        "WHERE status = 'verified' AND signer = 'keys/ci.pub' ORDER BY envelope_digest LIMIT 1",
    )[0]
    envelope = LayoutStore(org / "store").get_blob(one["envelope_digest"])
    (org / "later").mkdir()
    (org / "later" / "copy.json").write_bytes(envelope)
    later = NOW + timedelta(days=30)
    policy_text = (org / "trust.yaml").read_text()
    cutoff = (NOW + timedelta(days=1)).isoformat()
    (org / "cutoff.yaml").write_text(
        policy_text.replace(
            "path: keys/ci.pub", f"path: keys/ci.pub\n    untrusted_after: {cutoff}"
        )
    )
    later_files = open_source(str(org / "later"))
    crawl(later_files, lake, load_policy(org / "trust.yaml"), now=later, jobs=1)
    result = reverify_job(lake, org / "cutoff.yaml", jobs=1)
    assert result.changes == {"untrusted": 1}
    copy = _sql(lake, "SELECT * FROM verifications WHERE source LIKE '%copy.json'")
    assert [r["reason"] for r in copy] == ["revoked"]
    assert later.date().isoformat() in copy[0]["detail"]
    assert _verified_by(lake, "keys/ci.pub") > 200  # everything seen before the cutoff


def test_an_interrupted_reverify_is_finished_by_the_next(org: Path, revoked: Revoked) -> None:
    lake = org / "lake"

    class Stop(Exception):
        pass

    def stop_after_runs(table: str) -> None:
        if table == "runs":
            raise Stop

    with pytest.raises(Stop):
        reverify_job(lake, org / "revoked-ci.yaml", jobs=1, on_swapped=stop_after_runs)
    problems = check(lake).problems
    assert [p.what for p in problems] == [
        "a re-evaluation of the lake's verdicts under another trust policy did not complete: "
        "the tables may hold verdicts of two policies"
    ]
    assert not list(lake.glob(".reverify-*"))
    # the same policy as the interrupted one: the lake's last completed verdicts are the old
    # policy's, and a re-evaluation is pending either way
    out = run_cli(
        org, "crawl", "--from", "store", "--lake", "lake", "--trust", "revoked-ci.yaml", "--json"
    )
    assert out.code == 0, out.err
    assert out.json()["reverified"] is not None
    assert _rebuilt(lake) == _rebuilt(revoked.org / "lake")  # as an uninterrupted one left it
    assert not check(lake).problems


def test_a_killed_reverify_leaves_nothing_the_next_cannot_finish(
    org: Path, demo: DemoResult
) -> None:
    """SIGKILL between two table replacements: the scratch lake stays behind, the journal says
    the re-evaluation did not complete; the next one removes the scratch lake and finishes."""
    lake = org / "lake"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from attestlake.crawl.job import reverify_job\n"
        "def kill(table):\n"
        "    if table == 'materials':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "reverify_job(Path(sys.argv[1]), Path(sys.argv[2]), jobs=1, on_swapped=kill)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(lake), str(org / "revoked-ci.yaml")],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    assert list(lake.glob(".reverify-*")), "the killed re-evaluation's scratch lake"
    assert check(lake).problems
    result = reverify_job(lake, org / "trust.yaml", jobs=1)
    assert not list(lake.glob(".reverify-*"))
    assert not check(lake).problems
    assert _rebuilt(lake) == _rebuilt(demo.lake)  # the demo's own first crawl, same policy
    assert result.policy_after == load_policy(org / "trust.yaml").digest


def _as_before_the_journal(lake: Path) -> None:
    """The lake as a version before the journal and kept bytes left it: no ``blobs``,
    ``trust_changes`` or ``crawls``, and no crawl ids."""
    for kept_later in (BLOBS.name, "trust_changes", "crawls", *(m.name for m in MAINTAINED)):
        shutil.rmtree(lake / kept_later)
    for table in REBUILT_TABLES:
        data = DeltaTable(str(lake / table.name)).to_pyarrow_table()
        for name in ("crawl_id", "crawl_batch"):
            i = data.schema.get_field_index(name)
            data = data.set_column(i, name, pa.nulls(data.num_rows, data.schema.field(i).type))
        write_deltalake(str(lake / table.name), data, mode="overwrite")


def test_a_lake_without_kept_bytes_is_refused_unchanged(org: Path) -> None:
    """A lake crawled by a version that kept no bytes: reverify says so and writes nothing;
    a crawl under another policy warns and does not pretend to have re-evaluated."""
    lake = org / "lake"
    _as_before_the_journal(lake)
    before = _rebuilt(lake, maintained=False)
    out = run_cli(org, "reverify", "--lake", "lake", "--trust", "revoked-ci.yaml")
    assert out.code == 1
    assert "did not keep their bytes" in out.err and "new lake directory" in out.err
    assert _rebuilt(lake, maintained=False) == before
    with pytest.raises(LakeError):
        reverify_job(lake, org / "revoked-ci.yaml", jobs=1)
    crawled = run_cli(
        org, "crawl", "--from", "store", "--lake", "lake", "--trust", "revoked-ci.yaml", "--json"
    )
    assert crawled.code == 0, crawled.err
    summary = crawled.json()
    assert summary["reverified"] is None
    assert any("kept no bytes" in w for w in summary["warnings"])


def test_reverify_of_a_missing_lake_is_an_error(tmp_path: Path, org: Path) -> None:
    out = run_cli(org, "reverify", "--lake", str(tmp_path / "nowhere"), "--trust", "trust.yaml")
    assert out.code == 1
    assert "not a lake" in out.err
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.attack("forgery")
def test_bytes_altered_in_the_lake_are_never_trusted_again(org: Path) -> None:
    """Someone with write access to the lake's directory rewrites kept bytes (an envelope, an
    SBOM) under their old digests: the re-evaluation reads them as unreadable, not as what
    they now say."""
    lake = org / "lake"
    blobs = DeltaTable(str(lake / BLOBS.name)).to_pyarrow_table()
    rows = blobs.to_pylist()
    sbom = next(r for r in rows if r["role"] == "evidence" and b"components" in r["content"])
    forged_sbom = json.loads(sbom["content"])
    forged_sbom["components"] = [{"type": "library", "name": "evil", "version": "6.6.6"}]
    sbom["content"] = json.dumps(forged_sbom).encode()
    document = next(r for r in rows if r["role"] == "document")
    document["content"] = document["content"].replace(b'"payload"', b'"payload" ', 1)
    write_deltalake(
        str(lake / BLOBS.name), pa.Table.from_pylist(rows, schema=blobs.schema), mode="overwrite"
    )
    assert not check(lake).problems  # same rows, same counts: the journal cannot tell

    reverify_job(lake, org / "trust.yaml", jobs=1)

    assert _sql(lake, "SELECT count(*) AS n FROM sbom_components WHERE name = 'evil'") == [{"n": 0}]
    altered = _sql(
        lake,
        "SELECT status, reason, detail FROM verifications WHERE envelope_digest = $d",
        d=document["digest"],
    )
    assert [(r["status"], r["reason"]) for r in altered] == [("not_verified", "malformed")]
    assert "no longer match their digest" in altered[0]["detail"]


def _damage_blobs(lake: Path, column: str, value: Any) -> None:
    """Set ``column`` of one kept row to ``value``, every other row as kept: the envelope that
    comes first in a crawl unit of several parts."""
    blobs = DeltaTable(str(lake / BLOBS.name)).to_pyarrow_table()
    rows = blobs.to_pylist()
    parts: dict[str, int] = {}
    for row in rows:
        parts[row["manifest_digest"]] = parts.get(row["manifest_digest"], 0) + 1
    first = next(
        r
        for r in rows
        if r["role"] == "document" and r["part"] == 0 and parts[r["manifest_digest"]] > 1
    )
    first[column] = value
    write_deltalake(
        str(lake / BLOBS.name), pa.Table.from_pylist(rows, schema=blobs.schema), mode="overwrite"
    )


@pytest.mark.attack("loss")
@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("manifest_digest", None, "no manifest_digest"),
        ("source", None, "no source"),
        ("role", None, "no role"),
        ("role", "payload", "unknown role 'payload'"),
    ],
)
def test_a_damaged_blobs_table_is_refused_and_the_lake_left_as_it_was(
    org: Path, column: str, value: Any, says: str
) -> None:
    """Kept rows that name no crawl unit, no source or no known role cannot be read back as
    what the crawl read: the re-evaluation (and a crawl under another policy) stops before it
    changes anything, instead of crashing or dropping the verdicts of the units it cannot read."""
    lake = org / "lake"
    _damage_blobs(lake, column, value)
    before = _rebuilt(lake)
    out = run_cli(org, "reverify", "--lake", "lake", "--trust", "revoked-ci.yaml")
    assert out.code == 1, out.out
    assert "blobs table is damaged" in out.err and says in out.err, out.err
    assert "Traceback" not in out.err
    crawled = run_cli(
        org, "crawl", "--from", "store", "--lake", "lake", "--trust", "revoked-ci.yaml"
    )
    assert crawled.code == 1 and "blobs table is damaged" in crawled.err, crawled.err
    assert _rebuilt(lake) == before
    assert _sql(lake, "SELECT count(*) AS n FROM trust_changes") == [{"n": 0}]
