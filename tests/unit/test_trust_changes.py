"""The documents whose verdict a re-evaluation changed (``trust_changes``), found in DuckDB
from the lake's verdicts and the scratch lake's: each change as the rule says, for every
shape of verdict, and no Python object held per verdict."""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from attestlake.contracts.declaration import PREDICATE_TYPE as DECLARATION_TYPE
from attestlake.crawl import trust_changes
from attestlake.lake.lake import Lake
from attestlake.lake.tables import VERIFICATIONS
from attestlake.lake.write import Appender
from tests.lakefactory import raw_lake

AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
VARYING = (
    "change", "manifest_digest", "envelope_digest", "source", "predicate_type", "run_id",
    "workflow", "project", "status_before", "reason_before", "signer_before", "status_after",
    "reason_after", "signer_after", "detail_after",
)  # fmt: skip


def _expected(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]):
    """The rule, spelled out over Python dicts: every document the scratch lake judged (an
    envelope by manifest and envelope digest, a published revision by manifest and file
    digest), beside the lake's verdict for it, if any."""

    def verdicts(tables: dict[str, list[dict[str, Any]]]) -> dict[tuple, dict[str, Any]]:
        out: dict[tuple, dict[str, Any]] = {}
        for row in tables.get("verifications", []):
            out[(row["manifest_digest"], row["envelope_digest"])] = row
        for row in tables.get("published_documents", []):
            out[(row["manifest_digest"], row["digest"])] = {
                **row,
                "predicate_type": DECLARATION_TYPE,
                "run_id": None,
                "workflow": None,
                "project": None,
            }
        return out

    old, new = verdicts(before), verdicts(after)
    rows = []
    for key, a in new.items():
        b = old.get(key)
        was, now = b is not None and b["status"] == "verified", a["status"] == "verified"
        if now and not was:
            change = "trusted"
        elif was and not now:
            change = "untrusted"
        elif b is None or any(b[k] != a[k] for k in ("status", "reason", "signer")):
            change = "reason"
        else:
            continue
        b = b or {}
        rows.append(
            {
                "change": change,
                "manifest_digest": key[0],
                "envelope_digest": key[1],
                **{k: a[k] for k in ("source", "predicate_type", "run_id", "workflow", "project")},
                **{f"{k}_before": b.get(k) for k in ("status", "reason", "signer")},
                **{f"{k}_after": a[k] for k in ("status", "reason", "signer")},
                "detail_after": a["detail"],
            }
        )
    return sorted(rows, key=lambda r: (r["manifest_digest"], r["envelope_digest"]))


def _verdict(rng: random.Random) -> dict[str, Any]:
    status = rng.choice(["verified", "verified", "not_verified", "error", None])
    return {
        "status": status,
        "reason": None if status == "verified" else rng.choice(["revoked", "bad_signature", None]),
        "signer": rng.choice(["keys/ci.pub", "keys/release.pub", "https://id.example/ci", None]),
    }


def _lakes(tmp_path: Path, seed: int, documents: int) -> tuple[Path, Path, dict, dict]:
    """A lake and a scratch lake with random verdicts over the same documents (some only in
    one of them, some published revisions)."""
    rng = random.Random(seed)
    before: dict[str, list[dict[str, Any]]] = {"verifications": [], "published_documents": []}
    after: dict[str, list[dict[str, Any]]] = {"verifications": [], "published_documents": []}
    for i in range(documents):
        published = rng.random() < 0.15
        manifest = f"sha256:{i // 3:064x}"
        digest = f"sha256:{rng.getrandbits(256):064x}"
        claims = {
            "source": f"oci:store:run-{i}",
            "detail": rng.choice(["", "key revoked since 2026-11-01", None]),
            **(
                {}
                if published
                else {
                    "predicate_type": rng.choice(["https://slsa.dev/provenance/v1", None]),
                    "run_id": rng.choice([f"run-{i}", None]),
                    "workflow": "build",
                    "project": rng.choice(["payments", None]),
                }
            ),
        }
        key = {"manifest_digest": manifest, ("digest" if published else "envelope_digest"): digest}
        table = "published_documents" if published else "verifications"
        first = _verdict(rng)
        if rng.random() < 0.9:  # judged by the lake before
            before[table].append({**key, **claims, **first})
        if rng.random() < 0.95:  # judged again: the same verdict half of the time
            again = first if rng.random() < 0.5 else _verdict(rng)
            after[table].append({**key, **claims, **again})
    return (
        raw_lake(tmp_path / f"lake-{seed}", before),
        raw_lake(tmp_path / f"scratch-{seed}", after),
        before,
        after,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_change_is_what_the_rule_says(tmp_path: Path, seed: int) -> None:
    lake, scratch, before, after = _lakes(tmp_path, seed, 300)
    found = tmp_path / "found.parquet"
    count = trust_changes.find(lake, scratch, found)
    rows = pq.read_table(found).to_pylist()
    expected = _expected(before, after)
    assert count == len(rows) == len(expected)
    assert rows == expected
    assert {r["change"] for r in rows} == {"trusted", "untrusted", "reason"}


def test_the_rows_are_appended_with_the_time_the_policies_and_the_crawl(tmp_path: Path) -> None:
    lake, scratch, before, after = _lakes(tmp_path, 4, 200)
    found = tmp_path / "found.parquet"
    trust_changes.find(lake, scratch, found)
    counted = trust_changes.append(
        Appender(lake),
        found,
        policies=(None, "sha256:after"),
        at=AT,
        crawl_id="c0ffee00-0000-4000-8000-000000000000",
        crawl_batch=3,
    )
    expected = _expected(before, after)
    assert counted == Counter(r["change"] for r in expected)
    with Lake.open(lake) as session:
        written = session.sql(
            "SELECT * FROM trust_changes ORDER BY manifest_digest, envelope_digest"
        )
    rows = written.to_pylist()
    assert [{k: r[k] for k in VARYING} for r in rows] == expected
    assert {(r["changed_at"], r["policy_before"], r["policy_after"]) for r in rows} == {
        (AT, None, "sha256:after")
    }
    assert {(r["crawl_id"], r["crawl_batch"]) for r in rows} == {
        ("c0ffee00-0000-4000-8000-000000000000", 3)
    }


def test_finding_the_changes_holds_no_python_object_per_verdict(tmp_path: Path) -> None:
    """100,000 verdicts on each side, every one changed: what Python allocates while they are
    found stays far below one object per verdict (the old dictionaries took about 1 KiB
    each)."""
    lake, scratch = tmp_path / "lake", tmp_path / "scratch"
    n = 100_000
    for root, status in ((lake, "verified"), (scratch, "not_verified")):
        raw_lake(root, {})
        rows = [
            {
                "manifest_digest": f"sha256:{i:064x}",
                "envelope_digest": f"sha256:{i + n:064x}",
                "status": status,
                "reason": None if status == "verified" else "revoked",
                "signer": "keys/ci.pub",
                "source": f"oci:store:run-{i}",
            }
            for i in range(n)
        ]
        Appender(root).append(
            VERIFICATIONS, [{c: r.get(c) for c in VERIFICATIONS.schema.names} for r in rows]
        )
        del rows
    found = tmp_path / "found.parquet"
    tracemalloc.start()
    try:
        assert trust_changes.find(lake, scratch, found) == n
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MiB traced"
