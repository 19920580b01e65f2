"""Crawling an OCI layout store: runs with SBOM evidence, other tools' predicates, forged and
hostile content, non-attestation manifests, incremental re-crawls, serial == parallel.

The helpers here build stores without the collector (DSSE signed with a fresh P-256 key), so
that other crawl tests (resume, registry) reuse them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from attestlake import open_lake
from attestlake.crawl.chunk import Work, merged
from attestlake.crawl.crawl import crawl
from attestlake.crawl.inspection import Inspector
from attestlake.crawl.sources.store import StoreSource
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE, pae
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE
from attestlake.lake.delta import open_table
from attestlake.lake.maintained_views import MAINTAINED, current_tables
from attestlake.lake.tables import BY_NAME, TABLES, UNIT_TABLES
from attestlake.signing.keys import key_id
from attestlake.store import Descriptor, Manifest, Store
from attestlake.store.layout import LayoutStore
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE
from attestlake.verify.verify import load_policy

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CDX = "application/vnd.cyclonedx+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"


@dataclass
class Signer:
    key: ec.EllipticCurvePrivateKey
    trust: Path

    def envelope(self, statement: dict[str, Any] | bytes) -> bytes:
        payload = statement if isinstance(statement, bytes) else json.dumps(statement).encode()
        sig = self.key.sign(pae("application/vnd.in-toto+json", payload), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "payloadType": "application/vnd.in-toto+json",
                "payload": base64.b64encode(payload).decode(),
                "signatures": [
                    {"keyid": key_id(self.key.public_key()), "sig": base64.b64encode(sig).decode()}
                ],
            }
        ).encode()


def make_signer(directory: Path) -> Signer:
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (directory / "ci.pub").write_bytes(pem)
    (directory / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    return Signer(key, directory / "trust.yaml")


def sbom(n: int) -> bytes:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": {"component": {"type": "application", "name": f"app{n}"}},
            "components": [
                {
                    "type": "library",
                    "name": f"lib{i}",
                    "version": f"1.{i}",
                    "purl": f"pkg:npm/lib{i}@1.{i}",
                    "hashes": [{"alg": "SHA-256", "content": "ab" * 32}],
                    "licenses": [{"license": {"id": "MIT"}}],
                }
                for i in range(3)
            ],
        }
    ).encode()


def run_statement(n: int, evidence: bytes | None = None) -> dict[str, Any]:
    materials: list[dict[str, Any]] = [
        {
            "name": "image",
            "type": "CONTAINER_IMAGE",
            "value": f"ghcr.io/acme/app@sha256:{n:064x}",
            "digest": {"sha256": f"{n:064x}"},
            "output": True,
        }
    ]
    if evidence is not None:
        materials.append(
            {
                "name": "sbom",
                "type": "SBOM_CYCLONEDX_JSON",
                "filename": "sbom.json",
                "digest": {"sha256": hashlib.sha256(evidence).hexdigest()},
                "mediaType": CDX,
                "details": {"format": "CycloneDX", "specVersion": "1.5", "components": 3},
            }
        )
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": "ghcr.io/acme/app", "digest": {"sha256": f"{n:064x}"}}],
        "predicateType": RUN_PREDICATE_TYPE,
        "predicate": {
            "run": {
                "id": f"run-{n}",
                "status": "success",
                "startedAt": f"2024-05-{1 + n % 28:02d}T10:00:00Z",
                "finishedAt": f"2024-05-{1 + n % 28:02d}T10:05:00Z",
            },
            "workflow": {"name": "build", "project": f"p{n % 3}", "team": "t"},
            "contract": {
                "name": "build",
                "revision": 1 + n % 2,
                "digest": f"sha256:{1 + n % 2:064x}",
                "materials": [{"name": "image", "type": "CONTAINER_IMAGE", "output": True}],
            },
            "runner": {"type": "GITHUB_ACTION", "url": f"https://ci/{n}"},
            "materials": materials,
            "annotations": {},
        },
    }


def slsa_statement(n: int) -> dict[str, Any]:
    return {
        "_type": STATEMENT_V1,
        "subject": [{"name": f"app-{n}.whl", "digest": {"sha256": f"{n + 10_000:064x}"}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {"ref": "refs/heads/main", "repository": "https://github.com/a/b"}
                },
                "resolvedDependencies": [
                    {
                        "uri": "git+https://github.com/a/b@refs/heads/main",
                        "digest": {"gitCommit": "c" * 40},
                    }
                ],
            },
            "runDetails": {"builder": {"id": "https://github.com/actions/runner"}},
        },
    }


def push(
    store: Store,
    documents: list[tuple[str, bytes]],
    *,
    tag: str | None,
    evidence: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    subject: Descriptor | None = None,
) -> Manifest:
    store.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    layers = []
    for media_type, data in [*documents, *evidence]:
        layers.append(store.put_blob(data, media_type))
    manifest = Manifest.build(
        artifact_type="application/vnd.test", layers=layers, annotations={}, subject=subject
    )
    store.put_manifest(manifest, tag=tag)
    return manifest


def build_store(root: Path, signer: Signer, runs: int = 12) -> LayoutStore:
    """``runs`` signed runs with SBOM evidence, SLSA provenance, and the bad cases."""
    store = LayoutStore(root)
    for n in range(runs):
        ev = sbom(n)
        push(
            store,
            [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(n, ev)))],
            tag=f"run-{n}",
            evidence=[(CDX, ev)],
        )
    push(store, [(ENVELOPE_MEDIA_TYPE, signer.envelope(slsa_statement(1)))], tag="prov-1")
    forged = json.loads(signer.envelope(run_statement(99)))
    forged["payload"] = base64.b64encode(json.dumps(run_statement(98)).encode()).decode()
    push(store, [(ENVELOPE_MEDIA_TYPE, json.dumps(forged).encode())], tag="forged")
    push(store, [(ENVELOPE_MEDIA_TYPE, b"\x00not json")], tag="garbage")
    push(store, [(ENVELOPE_MEDIA_TYPE, b"[" * 100_000)], tag="deep")
    push(store, [], tag="image", evidence=[("application/octet-stream", b"not an attestation")])
    return store


def lake_rows(
    lake: Path,
    exclude: tuple[str, ...] = (
        "crawled_at",
        "crawl_date",
        "crawl_id",
        "crawl_batch",
        "seen_at",
        "unit_index",
    ),
    *,
    maintained: bool = True,
) -> dict[str, list[tuple[Any, ...]]]:
    """Every crawled table as a sorted list of rows (which crawl, and when, left out), then
    (``maintained``) every maintained table as the crawler wrote it, which must be current."""
    out = {}
    with open_lake(lake) as opened:
        for table in UNIT_TABLES:
            cols = [c for c in table.schema.names if c not in exclude]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = opened.sql(f'SELECT {select} FROM "{table.name}"')
            out[table.name] = sorted((tuple(r.values()) for r in rows.to_pylist()), key=repr)
    if maintained:
        out.update(maintained_rows(lake, exclude))
    return out


def maintained_rows(
    lake: Path, exclude: tuple[str, ...] = ("crawl_id", "crawl_batch")
) -> dict[str, list[tuple[Any, ...]]]:
    """Each maintained table's rows as the crawler wrote them (sorted), after checking that it
    is current: written from the lake's tables as they are."""
    root = lake.resolve() if isinstance(lake, Path) else lake
    assert set(current_tables(root)) == {m.name for m in MAINTAINED}
    out = {}
    for maintained in MAINTAINED:
        written = open_table(root, maintained.table).to_pyarrow_table()
        rows = written.drop_columns([c for c in exclude if c in written.column_names])
        out[maintained.name] = sorted((tuple(r.values()) for r in rows.to_pylist()), key=repr)
    return out


def assert_no_duplicate_keys(lake: Path) -> None:
    with open_lake(lake) as opened:
        for table in TABLES:
            if not table.key:
                continue
            keys = ", ".join(f'"{k}"' for k in table.key)
            dup = opened.sql(
                f'SELECT {keys}, count(*) AS n FROM "{table.name}" GROUP BY ALL HAVING n > 1'
            ).to_pylist()
            assert not dup, f"{table.name} has duplicate keys: {dup[:3]}"


@pytest.fixture
def store(tmp_path: Path) -> tuple[LayoutStore, Signer]:
    signer = make_signer(tmp_path / "keys")
    return build_store(tmp_path / "store", signer), signer


def test_crawl_layout_store(tmp_path: Path, store: tuple[LayoutStore, Signer]) -> None:
    layout, signer = store
    result = crawl(layout, tmp_path / "lake", load_policy(signer.trust), now=NOW, batch_size=5)
    assert result.verified == 13 and result.not_verified == 3
    assert result.reasons == {"bad_signature": 1, "malformed": 2}
    assert result.other_manifests == 1 and result.ingested == 16 and result.batches == 4
    with open_lake(tmp_path / "lake") as lake:
        runs = lake.sql("SELECT count(*) n, count(DISTINCT run_id) d FROM runs").to_pylist()[0]
        assert runs == {"n": 12, "d": 12}
        comps = lake.sql(
            "SELECT carrier, trusted, count(*) n, count(hashes) h FROM sbom_components GROUP BY ALL"
        ).to_pylist()
        assert comps == [{"carrier": "evidence", "trusted": True, "n": 36, "h": 36}]
        prov = lake.sql("SELECT source_repo, source_commit FROM provenance").to_pylist()
        assert prov == [{"source_repo": "https://github.com/a/b", "source_commit": "c" * 40}]
        reqs = lake.sql("SELECT count(*) n FROM contract_requirements").to_pylist()[0]["n"]
        assert reqs == 2  # one per contract digest, however many runs name it
        leaked = lake.sql(
            "SELECT count(*) n FROM runs WHERE run_id IN ('run-98', 'run-99')"
        ).to_pylist()[0]["n"]
        assert leaked == 0
        forged = lake.sql(
            "SELECT trusted, run_id FROM attestations a JOIN verifications v USING (envelope_digest)"
            " WHERE v.reason = 'bad_signature'"
        ).to_pylist()
        assert forged == [{"trusted": False, "run_id": "run-98"}]
    assert_no_duplicate_keys(tmp_path / "lake")

    again = crawl(layout, tmp_path / "lake", load_policy(signer.trust), now=NOW)
    assert again.ingested == 0 and again.already_known == 16 and again.rows["verifications"] == 0


def _counting_here(inspector: Inspector, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The units of each chunk ``inspector`` inspects in this process, as it does."""
    here: list[int] = []
    inspect_here = inspector._here

    def counted(work: list[Work]) -> Any:
        here.append(len(work))
        return inspect_here(work)

    monkeypatch.setattr(inspector, "_here", counted)
    return here


def test_parallel_gives_the_serial_lake(
    tmp_path: Path, store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    layout, signer = store
    policy = load_policy(signer.trust)
    candidates = list(StoreSource(layout).candidates())
    assert all(c.loader is not None for c in candidates)  # workers read the layout themselves
    chunks = [candidates[i : i + 3] for i in range(0, len(candidates), 3)]
    with Inspector(policy, NOW, jobs=2, parallel_min=1) as inspector:
        assert inspector.parallel
        here = _counting_here(inspector, monkeypatch)
        first = inspector.submit(list(chunks[0]))  # starts the workers
        assert inspector.started(timeout=120)
        parallel, _ = merged([first(), *(inspector.submit(list(c))() for c in chunks[1:])])
        assert here == [3] and not inspector.broken  # the others ran in the workers
    with Inspector(policy, NOW, jobs=1) as inspector:
        serial, _ = merged([inspector.submit([c.load() for c in candidates])()])
    assert {n: t.to_pylist() for n, t in parallel.items()} == {
        n: t.to_pylist() for n, t in serial.items()
    }
    assert sum(t.num_rows for t in parallel.values()) > 50
    assert parallel["contract_requirements"].num_rows == 2  # one set per contract digest
    assert parallel["blobs"]["unit_index"].to_pylist() == serial["blobs"]["unit_index"].to_pylist()


def test_chunks_are_inspected_here_while_the_workers_start(
    tmp_path: Path, store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' server imports their modules (a second or two): meanwhile the crawl's
    chunks are inspected in this process instead of waiting, those submitted once the
    workers started go to them, and the rows are the same, in the same order."""
    import threading

    layout, signer = store
    policy = load_policy(signer.trust)
    candidates: list[Work] = list(StoreSource(layout).candidates())
    chunks = [candidates[i : i + 2] for i in range(0, len(candidates), 2)]
    assert len(chunks) >= 6
    with Inspector(policy, NOW, jobs=1) as serial:
        expected, _ = merged([serial.submit(list(candidates))()])
    go = threading.Event()
    start = Inspector._start

    def slow_start(self: Inspector, pool: Any) -> None:
        assert go.wait(120)
        start(self, pool)

    monkeypatch.setattr(Inspector, "_start", slow_start)
    with Inspector(policy, NOW, jobs=2, parallel_min=1) as inspector:
        here = _counting_here(inspector, monkeypatch)
        waiting = [inspector.submit(list(c)) for c in chunks[:3]]  # the workers are starting
        assert not inspector.started(timeout=0.1)
        results = [result() for result in waiting]
        assert here == [2, 2, 2]  # inspected here, without waiting for the workers
        go.set()
        assert inspector.started(timeout=120)
        results += [inspector.submit(list(c))() for c in chunks[3:]]
        assert here == [2, 2, 2] and not inspector.broken  # the rest in the workers
    parallel, _ = merged(results)
    assert {n: t.to_pylist() for n, t in parallel.items()} == {
        n: t.to_pylist() for n, t in expected.items()
    }


def _server_pid() -> int | None:
    from multiprocessing import forkserver

    return forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined,no-any-return]


def test_the_fork_server_ends_with_the_last_pool(
    tmp_path: Path, store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server the workers fork from holds their imports (50-90 MiB): it is ended when
    the last pool of the process is shut down, so that it holds nothing while the crawl
    computes its maintained tables; a later pool starts one again."""
    from attestlake.crawl import inspection

    layout, signer = store
    policy = load_policy(signer.trust)
    candidates: list[Work] = list(StoreSource(layout).candidates())
    first = Inspector(policy, NOW, jobs=2, parallel_min=1)
    second = Inspector(policy, NOW, jobs=2, parallel_min=1)
    stop = inspection._stop_server
    stopped_with: list[list[bool]] = []

    def stop_when_none_open() -> None:
        # ending the server waits for every process it forked: never with a pool open
        still_open = [i._pool is not None for i in (first, second)]
        stopped_with.append(still_open)
        if not any(still_open):
            stop()

    monkeypatch.setattr(inspection, "_stop_server", stop_when_none_open)
    with first, second:
        first.submit(candidates[:3])()
        assert first.started(timeout=120)
        server = _server_pid()
        assert server is not None
        second.submit(candidates[3:6])()
        assert second.started(timeout=120)
        first.close()
        assert _server_pid() == server and stopped_with == []  # the second pool forks from it
        assert second.submit(candidates[6:9])().units and not second.broken
    assert stopped_with == [[False, False]] and _server_pid() is None
    with pytest.raises(ProcessLookupError):
        os.kill(server, 0)  # ended and waited for: not even a zombie
    with Inspector(policy, NOW, jobs=2, parallel_min=1) as again:
        assert again.submit(candidates[:3])().units and again.started(timeout=120)
        assert _server_pid() not in (None, server)
    assert _server_pid() is None


def test_documents_and_free_text_have_no_statistics_in_files_or_log(
    tmp_path: Path, store: tuple[LayoutStore, Signer]
) -> None:
    """A crawled statement's text is neither its file's minimum and maximum (footer) nor its
    log entry's; the digests next to it keep both, and compaction writes the same way."""
    import pyarrow.parquet as pq

    from attestlake.lake.observed_tables import ATTESTATIONS
    from attestlake.lake.write import compact

    layout, signer = store
    lake = tmp_path / "lake"
    crawl(layout, lake, load_policy(signer.trust), now=NOW, batch_size=5)

    def file_statistics() -> list[dict[str, bool]]:
        out = []
        for uri in open_table(lake, ATTESTATIONS).file_uris():
            meta = pq.ParquetFile(uri).metadata
            names = [meta.schema.column(i).name for i in range(meta.num_columns)]
            out += [
                {n: meta.row_group(g).column(i).is_stats_set for i, n in enumerate(names)}
                for g in range(meta.num_row_groups)
            ]
        return out

    def log_statistics() -> list[set[str]]:
        return list(_log_statistics(lake, ATTESTATIONS).values())

    def assert_none_for_text() -> None:
        footers, log = file_statistics(), log_statistics()
        assert footers and log
        for footer in footers:
            assert not footer["statement"] and not footer["subjects"]
            assert footer["envelope_digest"] and footer["statement_digest"]
        for entry in log:
            assert not entry & {"statement", "subjects"}
            assert {"envelope_digest", "statement_digest"} <= entry

    assert_none_for_text()
    assert len(log_statistics()) > 1  # batches of 5 units: several files
    compact(lake)
    assert len(log_statistics()) == 1
    assert_none_for_text()


def _log_statistics(lake: Path, table: Any) -> dict[str, set[str]]:
    """The columns with a maximum in each live file's entry of ``table``'s log, by file."""
    import pyarrow as pa

    actions = pa.table(open_table(lake, table).get_add_actions(flatten=True)).to_pylist()
    return {
        a["path"]: {k[4:] for k, v in a.items() if k.startswith("max.") and v is not None}
        for a in actions
    }


def test_the_log_keeps_statistics_of_the_columns_files_are_selected_by(
    tmp_path: Path, store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file's log entry has the minimum and maximum of the columns readers of the log
    select files by, and of no other, while its footer keeps every column's; a lake whose
    tables were made before gains the setting with its next crawl, its rows unchanged."""
    import pyarrow.parquet as pq

    from attestlake.lake import write
    from attestlake.lake.file_layout import LOG_STATISTICS
    from attestlake.lake.tables import RUNS

    layout, signer = store
    policy = load_policy(signer.trust)
    lake = tmp_path / "lake"
    with monkeypatch.context() as before:  # tables as an older version made them
        before.setattr(write, "table_properties", lambda table: {})
        crawl(layout, lake, policy, now=NOW)
    assert LOG_STATISTICS not in open_table(lake, RUNS).metadata().configuration
    old = _log_statistics(lake, RUNS)
    assert all("status" in columns for columns in old.values())  # every column's, as before
    rows = lake_rows(lake, maintained=False)

    more = LayoutStore(tmp_path / "more")
    for n in (40, 41):
        evidence = sbom(n)
        statement = signer.envelope(run_statement(n, evidence))
        push(more, [(ENVELOPE_MEDIA_TYPE, statement)], tag=f"run-{n}", evidence=[(CDX, evidence)])
    assert crawl(more, lake, policy, now=NOW).ingested == 2
    after = lake_rows(lake, maintained=False)
    written = [t for t in UNIT_TABLES if after[t.name] != rows[t.name]]
    assert len(written) >= 6
    for table in written:  # each table the crawl wrote to has the setting now
        configuration = open_table(lake, table).metadata().configuration
        assert configuration.get(LOG_STATISTICS) == ",".join(table.log_statistics), table.name
    for table in (RUNS, BY_NAME["sbom_components"], BY_NAME["attestations"]):
        new = {p: c for p, c in _log_statistics(lake, table).items() if p not in old}
        assert new, table.name
        for columns in new.values():
            assert columns <= set(table.log_statistics), table.name
            assert {"manifest_digest", "crawl_id"} <= columns, table.name
    new_runs = [p for p in _log_statistics(lake, RUNS) if p not in old]
    footer = pq.ParquetFile(str(lake / "runs" / new_runs[0])).metadata
    status = footer.schema.names.index("status")
    assert footer.row_group(0).column(status).is_stats_set  # DuckDB still prunes by it
    for table in UNIT_TABLES:  # the rows before are all there still
        assert not Counter(rows[table.name]) - Counter(after[table.name]), table.name
    assert len(after["runs"]) == len(rows["runs"]) + 2


def test_new_tables_exist_and_old_lakes_gain_columns(
    tmp_path: Path, store: tuple[LayoutStore, Signer]
) -> None:
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    layout, signer = store
    lake = tmp_path / "lake"
    old = BY_NAME["verifications"].schema
    legacy = pa.schema([f for f in old if f.name not in ("format", "issuer", "statement_digest")])
    DeltaTable.create(str(lake / "verifications"), legacy, partition_by=["crawl_date"])
    write_deltalake(str(lake / "verifications"), legacy.empty_table(), mode="append")
    crawl(layout, lake, load_policy(signer.trust), now=NOW)
    with open_lake(lake) as opened:
        formats = opened.sql("SELECT DISTINCT format FROM verifications").column(0).to_pylist()
    assert "dsse" in formats


def test_a_lake_with_partitioned_tables_keeps_its_partitions_and_reads_the_same(
    tmp_path: Path, store: tuple[LayoutStore, Signer]
) -> None:
    """Earlier versions partitioned the run tables by day (``runs/run_date=…/``) and the
    observed ones by crawl day: a crawl appends to such tables with their partitions, and the
    lake reads the same rows as a new, unpartitioned lake of the same store."""
    from deltalake import DeltaTable

    layout, signer = store
    partitioned = {"runs": "run_date", "verifications": "crawl_date", "provenance": "build_date"}
    old = tmp_path / "old"
    for name, column in partitioned.items():
        DeltaTable.create(str(old / name), BY_NAME[name].schema, partition_by=[column])
    crawl(layout, old, load_policy(signer.trust), now=NOW, batch_size=5)
    crawl(layout, tmp_path / "new", load_policy(signer.trust), now=NOW, batch_size=5)
    for name, column in partitioned.items():
        files = [p for p in (old / name).rglob("*.parquet") if "_delta_log" not in p.parts]
        assert files and all(p.parent.name.startswith(f"{column}=") for p in files), name
        assert DeltaTable(str(old / name)).metadata().partition_columns == [column]
        assert DeltaTable(str(tmp_path / "new" / name)).metadata().partition_columns == []
    with_dates = lake_rows(old, exclude=("crawled_at", "crawl_id", "crawl_batch", "seen_at"))
    assert with_dates == lake_rows(
        tmp_path / "new", exclude=("crawled_at", "crawl_id", "crawl_batch", "seen_at")
    )
    assert with_dates["runs"] and with_dates["provenance"] and with_dates["verifications"]
    with open_lake(old) as opened:
        days = opened.sql("SELECT run_id, run_date FROM runs ORDER BY ALL").to_pylist()
    assert days and all(d["run_date"] for d in days)
    from attestlake.lake.export import export_parquet

    export_parquet(old, tmp_path / "export")  # the partition column is in the exported files
    exported = duckdb.sql(
        f"SELECT run_id, run_date FROM read_parquet('{tmp_path / 'export' / 'runs'}/*.parquet') "
        "ORDER BY ALL"
    )
    assert [dict(zip(("run_id", "run_date"), r, strict=True)) for r in exported.fetchall()] == days


def test_the_maintained_tables_are_computed_with_nothing_of_the_crawls_bookkeeping_held(
    tmp_path: Path, store: tuple[LayoutStore, Signer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a million runs the crawl's digest sets and open tables are hundreds of MB: the
    refresh of the maintained tables, the crawl's largest allocation, starts without them."""
    import gc

    from deltalake import DeltaTable

    import attestlake.crawl.crawl as crawling
    from attestlake.crawl.digest_set import DigestSet

    layout, signer = store
    held: dict[str, int] = {}
    refresh = crawling.refresh_maintained

    def refresh_and_look(root: Path) -> None:
        gc.collect()
        live = gc.get_objects()
        held["digest sets"] = sum(1 for o in live if isinstance(o, DigestSet) and len(o))
        held["tables"] = sum(1 for o in live if isinstance(o, DeltaTable))
        refresh(root)

    monkeypatch.setattr(crawling, "refresh_maintained", refresh_and_look)
    result = crawl(layout, tmp_path / "lake", load_policy(signer.trust), now=NOW)
    assert result.ingested > 0 and result.verified > 0
    assert held == {"digest sets": 0, "tables": 0}
