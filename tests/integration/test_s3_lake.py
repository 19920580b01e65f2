"""A lake in object storage: ``--lake s3://bucket/prefix`` against a real S3 endpoint
(moto's S3 on 127.0.0.1), compared with a local crawl of the same store.

One S3 endpoint and one crawl of the demo's store serve the module; the tests that write make
lakes of their own under other prefixes.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from attestlake.demo.demo import DemoResult
from attestlake.lake import write
from attestlake.lake.consistency import check
from attestlake.lake.delta import open_table
from attestlake.lake.lake import Lake
from attestlake.lake.object_store import ObjectLake, parse_object_uri
from attestlake.lake.tables import BY_NAME
from tests.integration.cli_helpers import Result, run_cli
from tests.integration.s3_server import SECRET_KEY, S3Server, _free_port
from tests.integration.test_crawl_store import assert_no_duplicate_keys, lake_rows

BUCKET = "attestations"
URI = f"s3://{BUCKET}/org/lake"
#: Buckets of the other lakes the tests write. One bucket per lake: the S3 server lists a
#: prefix by going through every key of its bucket.
OTHER_BUCKETS = ("sharded", "leased", "maintained", "merged")
#: The saved queries compared between the S3 lake and the local one.
QUERIES = (
    "non_compliant_workflows",
    "missing_sbom_digests",
    "verification_failures",
    "policy_violations",
    "trust_changes",
)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    try:
        for bucket in (BUCKET, *OTHER_BUCKETS):
            server.create_bucket(bucket)
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Crawled:
    """The demo's store crawled once into S3 and once into a local directory."""

    cwd: Path
    local: Path
    env: dict[str, str]
    trust: str

    def object_lake(self, uri: str = URI) -> ObjectLake:
        return parse_object_uri(uri, self.env)


def _run(cwd: Path, env: dict[str, str], *args: str) -> Result:
    """``attestlake ARGS`` in this process; its output never shows the secret key."""
    out = run_cli(cwd, *args, env=env)
    assert SECRET_KEY not in out.out + out.err
    return out


@pytest.fixture(scope="module")
def crawled(s3: S3Server, demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    cwd = tmp_path_factory.mktemp("s3")
    trust = str(demo.directory / "trust.yaml")
    done = Crawled(cwd, cwd / "local", s3.env(), trust)
    for lake in (URI, str(done.local)):
        out = _run(
            cwd, done.env, "crawl", "--from", str(demo.store), "--lake", lake, "--trust", trust
        )
        assert out.code == 0, out.err
    return done


def test_a_crawl_into_s3_makes_the_lake_a_local_crawl_makes(s3: S3Server, crawled: Crawled) -> None:
    remote, local = lake_rows(crawled.object_lake()), lake_rows(crawled.local)  # type: ignore[arg-type]
    counts = {t: len(r) for t, r in remote.items()}
    print("rows per table, S3 vs local:", counts)
    assert counts == {t: len(r) for t, r in local.items()}
    assert counts["verifications"] > 100 and counts["runs"] > 50
    assert remote == local
    keys = s3.keys(BUCKET, "org/lake/")
    assert any(k.startswith("org/lake/runs/_delta_log/") for k in keys)
    assert any(k.startswith("org/lake/runs/part-") and k.endswith(".parquet") for k in keys)
    assert not (crawled.cwd / "s3:").exists()  # never taken for a local path


#: What differs between two crawls of the same store (when, and which crawl) and two reports
#: (when: the parameters that default to a time before now).
_WHEN = frozenset(
    {
        "crawled_at",
        "crawl_date",
        "crawl_id",
        "crawl_batch",
        "seen_at",
        "generated_at",
        "first_crawled_at",
        "last_crawled_at",
        "params",
    }
)


def _timeless(value: Any) -> Any:
    """``value`` without the keys of :data:`_WHEN`, at any depth."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k not in _WHEN}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _json(out: Result) -> Any:
    assert out.code in (0, 3), out.err
    return _timeless(json.loads(out.out))


def test_queries_report_and_gate_answer_as_on_the_local_lake(crawled: Crawled) -> None:
    def both(*args: str) -> tuple[Any, Any]:
        return tuple(  # type: ignore[return-value]
            _json(_run(crawled.cwd, crawled.env, *args[:1], *args[1:], "--lake", lake))
            for lake in (URI, str(crawled.local))
        )

    for name in QUERIES:
        remote, local = both("query", "run", name, "-f", "json")
        assert remote["rows"] == local["rows"], name
    at = datetime.now(UTC).isoformat(timespec="seconds")  # both judged at the same instant
    remote, local = both("report", "-f", "json", "--at", at)
    assert remote["lake"] == URI
    assert remote["summary"] == local["summary"] and remote["queries"] == local["queries"]
    with Lake.open(crawled.object_lake()) as lake:
        subjects = lake.sql("SELECT DISTINCT digest FROM subjects ORDER BY 1 LIMIT 4")
    for digest in subjects.column(0).to_pylist():
        remote, local = both("gate", digest, "--json")
        assert remote == local, digest
    sql = "SELECT workflow, count(*) AS n FROM runs GROUP BY ALL ORDER BY ALL"
    remote, local = both("sql", sql, "-f", "json")
    assert remote == local and remote


def test_the_s3_session_reads_no_file_and_writes_nothing(crawled: Crawled) -> None:
    local_file = str(crawled.local / "runs" / "**" / "*.parquet")
    for sql in (
        f"SELECT count(*) FROM read_parquet('{local_file}')",
        f"SELECT * FROM read_parquet('{URI}/runs/**/*.parquet')",
        "COPY runs TO 'out.parquet'",
        "SET enable_external_access = true",
    ):
        out = _run(crawled.cwd, crawled.env, "sql", sql, "--lake", URI)
        assert out.code == 1 and "error:" in out.err, sql
    assert not (crawled.cwd / "out.parquet").exists()


def test_lake_check_and_a_second_crawl_on_s3(crawled: Crawled, demo: DemoResult) -> None:
    out = _run(crawled.cwd, crawled.env, "lake", "check", "--lake", URI, "-f", "json")
    assert out.code == 0, out.err
    health = json.loads(out.out)
    assert health["healthy"] and health["lake"] == URI
    assert {t["name"]: t["rows"] for t in health["tables"]}["verifications"] > 100
    before = lake_rows(crawled.object_lake())  # type: ignore[arg-type]
    again = _run(
        crawled.cwd, crawled.env,
        "crawl", "--from", str(demo.store), "--lake", URI, "--trust", crawled.trust, "--json",
    )  # fmt: skip
    assert again.code == 0, again.err
    summary = json.loads(again.out)
    assert summary["ingested"] == 0 and summary["already_known"] > 100
    assert lake_rows(crawled.object_lake()) == before  # type: ignore[arg-type]


def test_the_notebooks_open_a_lake_in_s3(crawled: Crawled, monkeypatch: pytest.MonkeyPatch) -> None:
    from attestlake.notebook.context import open_context

    for name, value in crawled.env.items():
        monkeypatch.setenv(name, value)
    context = open_context(URI)
    try:
        assert context.path == crawled.object_lake() and str(context.path) == URI
        assert SECRET_KEY not in context._repr_html_()
        runs = context.lake.sql("SELECT count(*) FROM runs").column(0)[0].as_py()
    finally:
        context.lake.close()
    with Lake.open(crawled.local) as local:
        assert runs == local.sql("SELECT count(*) FROM runs").column(0)[0].as_py()


def test_four_sharded_crawls_on_s3_make_the_lake_one_crawl_makes(
    s3: S3Server, crawled: Crawled, demo: DemoResult
) -> None:
    uri = "s3://sharded/lake"
    env = {**os.environ, **crawled.env}

    def command(k: int) -> list[str]:
        crawl = ["crawl", "--from", str(demo.store), "--lake", uri, "--trust", crawled.trust]
        return [sys.executable, "-m", "attestlake._cli", *crawl, "--shard", f"{k}/4", "--json"]

    procs = [
        subprocess.Popen(
            command(k),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=crawled.cwd,
        )
        for k in range(1, 5)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    assert all(SECRET_KEY not in out + err for out, err in outs)
    sharded = crawled.object_lake(uri)
    rows, whole = lake_rows(sharded), lake_rows(crawled.object_lake())  # type: ignore[arg-type]
    counts = {t: len(r) for t, r in rows.items()}
    print("rows per table, 4 shards on S3 vs one crawl:", counts)
    assert counts == {t: len(r) for t, r in whole.items()}
    assert rows == whole
    assert_no_duplicate_keys(sharded)  # type: ignore[arg-type]
    assert not check(sharded).problems
    journal = Lake.open(sharded)
    with journal:
        events = journal.sql("SELECT event, count(*) FROM crawls GROUP BY ALL").to_pylist()
    assert {e["event"]: e["count_star()"] for e in events} == {
        "started": 4,
        "batch": 4,
        "completed": 4,
    }
    out = _run(crawled.cwd, crawled.env, "reverify", "--lake", uri, "--trust", crawled.trust)
    assert out.code == 0, out.err
    assert lake_rows(sharded) == whole  # type: ignore[arg-type]


def _refused(cwd: Path, env: dict[str, str], lake: str, *, code: int = 1) -> str:
    """Run a crawl, a query, a lake check and a SQL statement (with tracebacks) on ``lake``:
    each fails with ``code`` and shows no secret; their messages are returned."""
    errs = []
    for args in (
        ("crawl", "--from", "store", "--lake", lake, "--trust", "trust.yaml"),
        ("query", "run", "missing_sbom_digests", "--lake", lake),
        ("lake", "check", "--lake", lake),
        ("--verbose", "sql", "SELECT 1", "--lake", lake),  # the traceback shows no secret
    ):
        out = _run(cwd, env, *args)
        assert out.code == code, (args, out.err)
        errs.append(out.err)
    return "\n".join(errs)


@pytest.fixture
def store_copy(tmp_path: Path, demo: DemoResult) -> Path:
    (tmp_path / "store").symlink_to(demo.store)
    (tmp_path / "trust.yaml").write_text((demo.directory / "trust.yaml").read_text())
    return tmp_path


def test_a_missing_bucket_is_a_clear_error_and_nothing_is_written(
    s3: S3Server, store_copy: Path
) -> None:
    before = s3.keys(BUCKET)
    err = _refused(store_copy, s3.env(), "s3://no-such-bucket/lake")
    assert "the bucket does not exist" in err
    assert s3.keys(BUCKET) == before
    assert not (store_copy / "s3:").exists()


def test_an_unreachable_endpoint_is_a_clear_error(s3: S3Server, store_copy: Path) -> None:
    env = s3.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}")
    err = _refused(store_copy, env, f"s3://{BUCKET}/elsewhere")
    assert "the endpoint cannot be reached" in err
    assert not s3.keys(BUCKET, "elsewhere")


def test_refused_credentials_are_a_clear_error_and_nothing_is_written(
    store_copy: Path,
) -> None:
    server = S3Server()
    server_env = {"INITIAL_NO_AUTH_ACTION_COUNT": "0"}  # every request is authenticated
    os.environ.update(server_env)
    try:
        server.start()
    finally:
        for name in server_env:
            os.environ.pop(name)
    try:
        err = _refused(store_copy, server.env(), f"s3://{BUCKET}/lake")
        assert "the credentials were refused" in err
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("lake", "env", "said"),
    [
        ("s3://UPPER/lake", {}, "names no valid bucket"),
        ("s3://user:pw@bucket/lake", {}, "must not hold credentials"),
        (f"s3://{BUCKET}/a/../b", {}, "plain key segments"),
        ("gs://bucket/lake", {}, "gs:// is not supported"),
        ("s3:/bucket/lake", {}, "a slash missing"),
        (URI, {"AWS_ENDPOINT_URL": "http://10.1.2.3:9000"}, "plain http"),
        (URI, {"AWS_SECRET_ACCESS_KEY": ""}, "go together"),
    ],
)
def test_a_bad_lake_uri_or_environment_is_refused_before_anything_is_read(
    s3: S3Server, store_copy: Path, lake: str, env: dict[str, str], said: str
) -> None:
    before = s3.keys(BUCKET)
    environment = {k: v for k, v in s3.env(**env).items() if v}
    assert said in _refused(store_copy, environment, lake)
    assert s3.keys(BUCKET) == before
    assert not (store_copy / "s3:").exists() and not (store_copy / "gs:").exists()


def test_writers_take_turns_under_the_lease_and_an_expired_one_is_taken(s3: S3Server) -> None:
    import threading
    import time
    from datetime import timedelta

    import pyarrow as pa
    from deltalake import write_deltalake

    from attestlake.lake import object_lock

    lake = parse_object_uri("s3://leased/lake", s3.env())
    held: list[tuple[float, float]] = []

    def write() -> None:
        for _ in range(2):
            with object_lock.object_writer_lock(lake):
                start = time.monotonic()
                time.sleep(0.3)
                held.append((start, time.monotonic()))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(held) == 8
    spans = sorted(held)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    # A writer killed while holding the lease: its row stays "held" until it expires.
    table = object_lock._open(lake)
    expired = datetime.now(UTC) - timedelta(seconds=1)
    row = {"holder": "killed", "state": "held", "expires": expired}
    write_deltalake(table, pa.Table.from_pylist([row], object_lock._SCHEMA), mode="overwrite")
    started = time.monotonic()
    with object_lock.object_writer_lock(lake):
        assert object_lock._current(object_lock._open(lake))["holder"] != "killed"
    assert time.monotonic() - started < 30
    assert object_lock._current(object_lock._open(lake))["state"] == "released"


def test_a_crawl_into_s3_merges_its_small_files_and_keeps_every_row(
    s3: S3Server, crawled: Crawled, demo: DemoResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl in small batches that merges each table's small files every third batch:
    merge commits in the bucket's logs, the rows of one crawl, a lake that checks clean."""
    monkeypatch.setattr(write, "MERGE_AFTER", 3)
    uri = "s3://merged/lake"
    crawl = ("crawl", "--from", str(demo.store), "--lake", uri, "--trust", crawled.trust)
    out = _run(crawled.cwd, crawled.env, *crawl, "--batch-size", "10")
    assert out.code == 0, out.err
    lake = crawled.object_lake(uri)
    history = open_table(lake, BY_NAME["runs"]).history()
    assert sum(c["operation"] == "OPTIMIZE" for c in history) >= 2
    assert lake_rows(lake) == lake_rows(crawled.object_lake())  # type: ignore[arg-type]
    assert not check(lake).problems


def test_compact_vacuum_and_export_on_s3_keep_every_row(
    s3: S3Server, crawled: Crawled, demo: DemoResult
) -> None:
    """A lake crawled in small batches (several files per table), compacted, its superseded
    files vacuumed, then exported as plain Parquet: the same rows as one crawl throughout."""
    uri = "s3://maintained/lake"
    crawl = ("crawl", "--from", str(demo.store), "--lake", uri, "--trust", crawled.trust)
    out = _run(crawled.cwd, crawled.env, *crawl, "--batch-size", "40")
    assert out.code == 0, out.err
    lake, whole = crawled.object_lake(uri), lake_rows(crawled.object_lake())  # type: ignore[arg-type]
    assert lake_rows(lake) == whole  # type: ignore[arg-type]
    runs_files = [k for k in s3.keys("maintained", "lake/runs/") if k.endswith(".parquet")]
    for args in (("lake", "compact"), ("lake", "vacuum", "--retain", "0")):
        out = _run(crawled.cwd, crawled.env, *args, "--lake", uri)
        assert out.code == 0, (args, out.err)
        assert lake_rows(lake) == whole, args  # type: ignore[arg-type]
    left = [k for k in s3.keys("maintained", "lake/runs/") if k.endswith(".parquet")]
    assert len(left) < len(runs_files)  # superseded small files are gone from the bucket
    assert not check(lake).problems
    exported = crawled.cwd / "exported"
    out = _run(crawled.cwd, crawled.env, "lake", "export", str(exported), "--lake", uri)
    assert out.code == 0, out.err
    with Lake.open(crawled.local) as local:
        want = local.sql("SELECT count(*) AS n FROM runs").to_pylist()
    import duckdb

    got = duckdb.sql(
        f"SELECT count(*) AS n FROM read_parquet('{exported}/runs/**/*.parquet', "
        "hive_partitioning = true)"
    ).fetchall()
    assert [{"n": got[0][0]}] == want
