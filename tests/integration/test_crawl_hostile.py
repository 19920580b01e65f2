"""Malformed and hostile documents: each becomes a not_verified row, the crawl never stops and
nothing reaches the trusted tables."""

from __future__ import annotations

import json
from pathlib import Path

from attestlake import open_lake
from attestlake.crawl.crawl import crawl
from attestlake.crawl.sources import open_source
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE
from attestlake.verify.verify import load_policy

RUN = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "x", "digest": {"sha256": "00"}}],
    "predicateType": RUN_PREDICATE_TYPE,
    "predicate": {"run": {"id": "forged-run"}, "workflow": {"name": "w", "project": "p"}},
}
HOSTILE: dict[str, bytes] = {
    "deep.json": b"[" * 200_000,
    "deep-statement.json": json.dumps({**RUN, "predicate": "P"})
    .replace('"P"', '{"a":' * 5000 + "1" + "}" * 5000)
    .encode(),
    "not-utf8.json": b"\xff\xfe{\x00",
    "bundle-wrong-types.json": json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": 5,
            "dsseEnvelope": [],
        }
    ).encode(),
    "dsse-wrong-types.json": b'{"payloadType": 1, "payload": [], "signatures": "x"}',
    "dsse-bad-base64.json": b'{"payloadType": "application/vnd.in-toto+json", "payload": "@@@", "signatures": []}',
    "huge-number.json": json.dumps({**RUN, "predicate": {"n": 1}})
    .replace("1}", "1e999999}")
    .encode(),
    "subject-object.json": json.dumps({**RUN, "subject": {"a": 1}}).encode(),
    "sbom-wrong-types.json": b'{"bomFormat": "CycloneDX", "components": {"a": 1}}',
    "empty.json": b"",
    "null.json": b"null",
    "big.json": b'{"pad": "' + b"x" * 5000 + b'"}',
    "lines.jsonl": b'{"a": 1}\n\xff\n[[[\n' + json.dumps(RUN).encode() + b"\n",
}


def test_hostile_documents_become_rows(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in HOSTILE.items():
        (folder / name).write_bytes(data)
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    policy = load_policy(tmp_path / "trust.yaml")
    result = crawl(open_source(str(folder), max_document_size=4096), tmp_path / "lake", policy)
    assert result.verified == 0
    assert result.documents == len(HOSTILE) - 1 + 4  # the JSON Lines file holds four
    with open_lake(tmp_path / "lake") as lake:
        rows = lake.sql("SELECT source, status, reason, detail FROM verifications").to_pylist()
        for table in ("runs", "subjects", "materials", "provenance", "witness_attestations"):
            assert lake.sql(f"SELECT count(*) AS n FROM {table}").to_pylist() == [{"n": 0}]
        forged = lake.sql(
            "SELECT trusted FROM attestations a JOIN verifications v USING (envelope_digest)"
            " WHERE v.run_id = 'forged-run'"
        ).column(0)
    assert set(forged.to_pylist()) == {False}
    assert all(r["status"] == "not_verified" and r["reason"] and r["detail"] for r in rows)
    big = next(r for r in rows if r["source"].endswith("big.json"))
    assert big["reason"] == "malformed" and "4096-byte bound" in big["detail"]
