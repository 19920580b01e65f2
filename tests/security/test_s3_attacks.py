"""Attacks on a lake in S3 (``moto_server`` on 127.0.0.1): a writer whose lease expired while
it worked (its renewals failed, and another writer took the lease) must write nothing more, and
say so, rather than commit beside the new holder; a table whose log asks for a reader feature
delta-rs lacks is a clear error, not a traceback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from attestlake.errors import LakeError
from attestlake.lake import object_lock
from attestlake.lake.lake import Lake
from attestlake.lake.object_files import filesystem
from attestlake.lake.object_store import parse_object_uri
from attestlake.lake.tables import BY_NAME
from attestlake.lake.write import Appender, create_tables, writer_lock
from tests.integration.s3_server import S3Server

BUCKET = "leases"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    try:
        server.create_bucket(BUCKET)
        yield server
    finally:
        server.stop()


@pytest.mark.attack("loss")
def test_a_writer_whose_lease_was_taken_writes_nothing_more(
    s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = parse_object_uri(f"s3://{BUCKET}/taken", s3.env())
    create_tables(lake)
    runs = BY_NAME["runs"]
    row = {"run_id": "late", "manifest_digest": "sha256:" + "a" * 64, "workflow": "build"}
    monkeypatch.setattr(object_lock, "LEASE_SECONDS", 2.0)
    monkeypatch.setattr(object_lock, "MARGIN_SECONDS", 0.5)
    monkeypatch.setattr(object_lock, "RENEW_EVERY", 3600.0)  # every renewal "fails"
    with pytest.raises(LakeError, match=r"writer lock .* expired"), writer_lock(lake):
        time.sleep(2.5)
        with object_lock.object_writer_lock(lake):  # the next writer takes the lease
            pass
        Appender(lake).append(runs, [row])
    with Lake.open(lake) as opened:
        assert opened.sql("SELECT count(*) AS n FROM runs").to_pylist() == [{"n": 0}]


@pytest.mark.attack("crash")
def test_a_table_that_needs_a_reader_feature_delta_rs_lacks_is_a_clear_error(
    s3: S3Server,
) -> None:
    lake = parse_object_uri(f"s3://{BUCKET}/deletion-vectors", s3.env())
    create_tables(lake)
    # Another engine (Spark) turned on deletion vectors: delta-rs cannot read the table.
    protocol = {
        "minReaderVersion": 3,
        "minWriterVersion": 7,
        "readerFeatures": ["deletionVectors"],
        "writerFeatures": ["deletionVectors"],
    }
    entry = [
        {"commitInfo": {"timestamp": 1, "operation": "SET TBLPROPERTIES"}},
        {"protocol": protocol},
    ]
    with filesystem(lake).open_output_stream(
        lake.key("runs", "_delta_log", f"{1:020d}.json")
    ) as out:
        out.write("\n".join(json.dumps(action) for action in entry).encode() + b"\n")
    # Refused by the checks every session runs first, as a local lake's table is.
    refused = r"table runs, runs/_delta_log: the table needs a Delta reader of protocol 3 \(deletionVectors\)"
    with pytest.raises(LakeError, match=refused):
        Lake.open(lake)
