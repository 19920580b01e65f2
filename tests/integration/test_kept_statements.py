"""Signed documents kept without their statement: ``blobs`` holds a DSSE envelope without the
base64 text of its statement, which ``attestations.statement`` holds.

A re-evaluation makes each document again byte for byte (a replayed envelope from its
anchor's statement), reads one whose statement was altered or removed in the lake as altered
bytes (never as what the altered statement says), refuses to replace the lake's tables when
its own rows would leave a kept document without its statement, and reads a lake written
before documents were cut (whole documents) mixed with rows written after, before and after
compaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from attestlake import open_lake
from attestlake.crawl.crawl import crawl
from attestlake.crawl.job import reverify_job
from attestlake.errors import LakeError
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.lake.consistency import check
from attestlake.lake.tables import ATTESTATIONS, BLOBS, REBUILT_TABLES
from attestlake.lake.write import compact
from attestlake.verify.verify import load_policy
from tests.integration.test_crawl_store import (
    CDX,
    NOW,
    Signer,
    build_store,
    lake_rows,
    make_signer,
    push,
    run_statement,
    sbom,
)

#: When a second crawl sees the store (a re-evaluation reads units in the order first seen).
LATER = NOW + timedelta(hours=1)
#: The phrase every altered kept document's verdict detail carries.
ALTERED = "no longer match their digest"


def _sql(lake: Path, query: str, **params: Any) -> list[dict[str, Any]]:
    with open_lake(lake) as opened:
        rows: list[dict[str, Any]] = opened.sql(query, params or None).to_pylist()
        return rows


def _rebuilt(lake: Path) -> dict[str, list[tuple[Any, ...]]]:
    rows = lake_rows(lake, maintained=False)
    return {t.name: rows[t.name] for t in REBUILT_TABLES}


def _run(signer: Signer, n: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    evidence = sbom(n)
    return [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(n, evidence)))], [(CDX, evidence)]


def _blob(store: Path, digest: str) -> bytes:
    return (store / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


@pytest.fixture
def crawled(tmp_path: Path) -> tuple[Path, Path, Signer]:
    """The store of :func:`build_store` with run 1's envelope replayed (in another manifest
    of the same crawl, and in one of a later crawl), crawled twice into ``lake``; the
    store's directory, the lake and the signer."""
    signer = make_signer(tmp_path / "keys")
    store = build_store(tmp_path / "store", signer)
    documents, evidence = _run(signer, 1)
    push(store, documents, tag="copy-1")
    lake, policy = tmp_path / "lake", load_policy(signer.trust)
    crawl(store, lake, policy, now=NOW, jobs=1)
    push(store, documents, tag="copy-2", evidence=evidence)
    crawl(store, lake, policy, now=LATER, jobs=1)
    return tmp_path / "store", lake, signer


def _kept(lake: Path) -> list[dict[str, Any]]:
    return DeltaTable(str(lake / BLOBS.name)).to_pyarrow_table().to_pylist()


def test_documents_are_kept_without_their_statement_and_made_again_exactly(
    crawled: tuple[Path, Path, Signer],
) -> None:
    store, lake, signer = crawled
    documents = [r for r in _kept(lake) if r["role"] == "document"]
    cut = [r for r in documents if r["statement_at"] is not None]
    # every readable envelope (the runs, the provenance, the forged one, the replays) is cut;
    # the garbage and the too-deep document are kept whole
    assert len(cut) == 12 + 1 + 1 + 2
    assert {r["content"] for r in documents if r["statement_at"] is None} == {
        _blob(store, r["digest"]) for r in documents if r["statement_at"] is None
    }
    for row in cut:
        whole = _blob(store, row["digest"])
        assert len(row["content"]) < len(whole) // 2
        assert b'"payload": ""' in row["content"]
    replays = _sql(
        lake,
        "SELECT count(*) AS n FROM verifications v WHERE NOT EXISTS (SELECT 1 FROM attestations a"
        " WHERE a.manifest_digest = v.manifest_digest AND a.envelope_digest = v.envelope_digest)",
    )
    assert replays == [{"n": 2 + 2}]  # the replays, and the two unreadable documents
    before = _rebuilt(lake)

    result = reverify_job(lake, signer.trust, jobs=1)

    assert result.documents == len(documents)
    assert _rebuilt(lake) == before  # every document read back exactly as crawled
    assert not _sql(lake, "SELECT * FROM verifications WHERE detail LIKE $p", p=f"%{ALTERED}%")
    assert not check(lake).problems


def _statement_of_run_1(
    lake: Path, change: Callable[[list[dict[str, Any]], dict[str, Any]], None]
) -> None:
    """Apply ``change(rows, row)`` to the ``attestations`` rows, ``row`` the one holding run
    1's statement, and write them back, every other row as crawled."""
    rows = DeltaTable(str(lake / ATTESTATIONS.name)).to_pyarrow_table().to_pylist()
    change(rows, next(r for r in rows if r["trusted"] and '"id": "run-1"' in r["statement"]))
    write_deltalake(
        str(lake / ATTESTATIONS.name),
        pa.Table.from_pylist(rows, schema=ATTESTATIONS.schema),
        mode="overwrite",
    )


def _forge(_: list[dict[str, Any]], row: dict[str, Any]) -> None:
    statement = json.loads(row["statement"])
    statement["predicate"]["workflow"]["project"] = "evil"
    row["statement"] = json.dumps(statement)


#: The verdicts on run 1's envelopes: its own manifest's and its two copies'.
RUN_1 = (
    "SELECT status, reason, detail FROM verifications "
    "WHERE source LIKE '%:run-1' OR source LIKE '%:copy-_'"
)


@pytest.mark.attack("forgery")
def test_an_altered_statement_makes_its_kept_documents_unreadable_never_trusted(
    crawled: tuple[Path, Path, Signer],
) -> None:
    """Someone with write access to the lake rewrites the statement kept envelopes need (the
    run's, and its copies', signed again: other envelopes of the same statement): each
    document made again with it does not hash to its digest, so the re-evaluation reads them
    as unreadable, not as what the statement now says."""
    _, lake, signer = crawled
    assert {r["status"] for r in _sql(lake, RUN_1)} == {"verified"}
    _statement_of_run_1(lake, _forge)
    assert not check(lake).problems  # same rows, same counts: the journal cannot tell

    reverify_job(lake, signer.trust, jobs=1)

    altered = _sql(lake, RUN_1)
    assert len(altered) == 3
    assert {(r["status"], r["reason"]) for r in altered} == {("not_verified", "malformed")}
    assert all(ALTERED in r["detail"] and "attestations" in r["detail"] for r in altered)
    assert _sql(lake, "SELECT count(*) AS n FROM runs WHERE project = 'evil'") == [{"n": 0}]
    assert _sql(lake, "SELECT count(*) AS n FROM runs WHERE run_id = 'run-1'") == [{"n": 0}]
    assert _sql(lake, "SELECT count(*) AS n FROM runs") == [{"n": 11}]


@pytest.mark.attack("loss")
def test_a_removed_statement_is_damage_that_lake_check_reports(
    crawled: tuple[Path, Path, Signer],
) -> None:
    """The row holding the statement kept envelopes need is deleted: the lake lost a row,
    which ``lake check`` reports and for which a re-evaluation changes nothing."""
    _, lake, signer = crawled
    _statement_of_run_1(lake, lambda rows, row: rows.remove(row))
    before = _rebuilt(lake)

    problems = check(lake).problems
    assert any("table attestations" in p.what and "lost rows" in p.what for p in problems)
    with pytest.raises(LakeError, match="inconsistent"):
        reverify_job(lake, signer.trust, jobs=1)
    assert _rebuilt(lake) == before


def test_a_re_evaluation_that_would_lose_a_statement_changes_nothing(
    crawled: tuple[Path, Path, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verifier that fails on every document (a bug) writes no ``attestations`` row: the
    statements the kept envelopes need would be gone once the tables are replaced, so the
    re-evaluation stops before it replaces any."""
    _, lake, signer = crawled
    before = _rebuilt(lake)
    monkeypatch.delenv("ATTESTLAKE_STRICT", raising=False)  # a bug is an outcome, as deployed

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a verifier bug")

    monkeypatch.setattr("attestlake.verify.verify.verify_document", broken)
    with pytest.raises(LakeError, match="without the statement their bytes need"):
        reverify_job(lake, signer.trust, jobs=1)

    assert _rebuilt(lake) == before


def _as_written_before(lake: Path, store: Path) -> None:
    """``blobs`` as a version that kept every document whole wrote it: no ``statement_at``
    column, the documents' whole bytes."""
    rows = _kept(lake)
    for row in rows:
        if row.pop("statement_at") is not None:
            row["content"] = _blob(store, row["digest"])
    schema = pa.schema([f for f in BLOBS.schema if f.name != "statement_at"])
    write_deltalake(
        str(lake / BLOBS.name),
        pa.Table.from_pylist(rows, schema=schema),
        mode="overwrite",
        schema_mode="overwrite",
    )


@pytest.mark.attack("loss")
def test_a_lake_written_before_reads_with_rows_written_after(tmp_path: Path) -> None:
    """A lake whose ``blobs`` a version that kept whole documents wrote, crawled again by
    this one: its old rows (whole) and new rows (cut) are read back alike, before and after
    compaction merges them into one file."""
    signer = make_signer(tmp_path / "keys")
    store = build_store(tmp_path / "store", signer, runs=4)
    lake, policy = tmp_path / "lake", load_policy(signer.trust)
    crawl(store, lake, policy, now=NOW, jobs=1)
    _as_written_before(lake, tmp_path / "store")
    assert "statement_at" not in DeltaTable(str(lake / BLOBS.name)).schema().to_arrow().names
    for n in range(4, 8):
        documents, evidence = _run(signer, n)
        push(store, documents, tag=f"run-{n}", evidence=evidence)
    crawl(store, lake, policy, now=LATER, jobs=1)

    cut = _sql(
        lake,
        "SELECT statement_at IS NOT NULL AS cut, count(*) AS n FROM blobs "
        "WHERE role = 'document' GROUP BY ALL ORDER BY ALL",
    )
    assert cut == [{"cut": False, "n": 4 + 1 + 1 + 2}, {"cut": True, "n": 4}]
    before = _rebuilt(lake)
    assert len(before["verifications"]) == 8 + 4

    reverify_job(lake, signer.trust, jobs=1)
    assert _rebuilt(lake) == before
    assert not _sql(lake, "SELECT * FROM verifications WHERE detail LIKE $p", p=f"%{ALTERED}%")
    assert not check(lake).problems

    compact(lake)
    assert len(DeltaTable(str(lake / BLOBS.name)).file_uris()) == 1
    reverify_job(lake, signer.trust, jobs=1)
    assert _rebuilt(lake) == before
    assert not check(lake).problems
