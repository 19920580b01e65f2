"""Crawling the real-world corpus folder: exactly the verified set of EXPECTED.tsv, every other
file present with its reason, the SBOMs' components in the lake, other tools' predicates
normalised."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from attestlake.crawl.crawl import CrawlResult, crawl
from attestlake.crawl.sources import open_source
from attestlake.lake.lake import Lake
from attestlake.verify.verify import load_policy

pytestmark = pytest.mark.corpus
NOW = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)


FIELDS = ("file", "format", "expected", "signer", "issuer", "why")


def expected(corpus: Path) -> list[dict[str, str]]:
    """EXPECTED.tsv's rows (its header line starts with ``#``)."""
    with open(corpus / "EXPECTED.tsv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]
    return [dict(zip(FIELDS, r + [""] * len(FIELDS), strict=False)) for r in rows]


def corpus_policy(corpus: Path, directory: Path) -> Path:
    """The trust policy EXPECTED.tsv assumes (see the corpus README)."""
    lines = [
        f"trusted_root: {corpus / 'keys' / 'sigstore-prod.trusted_root.json'}",
        "keys:",
        f"  - path: {corpus / 'keys' / 'gce-vsa.pub.pem'}",
        f"  - path: {corpus / 'keys' / 'witness-ed25519.pub.pem'}",
        "identities:",
    ]
    for row in expected(corpus):
        if row["expected"] == "verified" and row["issuer"]:
            lines += [f"  - issuer: {row['issuer']}", f"    subject: {row['signer']}"]
    path = directory / "trust.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def crawled(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CrawlResult, Lake, Path]]:
    tmp = tmp_path_factory.mktemp("corpus")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp / "xdg"))
    mp.setenv("XDG_DATA_HOME", str(tmp / "xdg"))
    policy = load_policy(corpus_policy(corpus, tmp))
    result = crawl(open_source(str(corpus)), tmp / "lake", policy, now=NOW, batch_size=4)
    lake = open_lake(tmp / "lake")
    try:
        yield result, lake, tmp
    finally:
        lake.close()
        mp.undo()


def _file(source: str, corpus: Path) -> str:
    relative = str(Path(source.rsplit(":", 1)[0] if source.endswith(":1") else source))
    return str(Path(relative).relative_to(corpus))


def _by_file(lake: Lake, corpus: Path) -> dict[str, dict[str, Any]]:
    rows = lake.sql("SELECT * FROM verifications").to_pylist()
    return {_file(r["source"], corpus): r for r in rows}


def test_exactly_the_expected_files_are_verified(
    crawled: tuple[CrawlResult, Lake, Path], corpus: Path
) -> None:
    _, lake, _ = crawled
    seen = _by_file(lake, corpus)
    want = {r["file"] for r in expected(corpus) if r["expected"] == "verified"}
    got = {f for f, r in seen.items() if r["status"] == "verified"}
    assert got == want
    for row in expected(corpus):
        if row["expected"] == "verified":
            signer = seen[row["file"]]["signer"] or ""
            assert signer.endswith(row["signer"].removeprefix("keys/")), row["file"]
            assert (seen[row["file"]]["issuer"] or "") == row["issuer"], row["file"]


def test_every_other_file_is_present_with_a_reason(
    crawled: tuple[CrawlResult, Lake, Path], corpus: Path
) -> None:
    _, lake, _ = crawled
    seen = _by_file(lake, corpus)
    assert set(seen) == {r["file"] for r in expected(corpus)}
    for row in expected(corpus):
        if row["expected"] != "verified":
            found = seen[row["file"]]
            assert found["status"] == "not_verified", row["file"]
            assert found["reason"] and found["detail"], row["file"]
    assert seen["bcr.MODULE-wrong-signer.bazel.intoto.jsonl"]["reason"] == "untrusted_signer"
    # Its keyid names no key of the policy and no policy key verifies it: nothing ties the
    # signature to a trusted key, so the signer is untrusted (not a bad signature by one).
    assert seen["archivista.fail.dsse.json"]["reason"] == "untrusted_signer"
    assert seen["sbom/laravel-7.12.0.cdx-1.4.json"]["format"] == "cyclonedx"


def test_the_sboms_components_are_in_the_lake(crawled: tuple[CrawlResult, Lake, Path]) -> None:
    _, lake, _ = crawled
    rows = lake.sql(
        "SELECT sbom_name, sbom_format, carrier, trusted, count(*) AS n, count(hashes) AS hashed,"
        " count(purl) AS purls FROM sbom_components GROUP BY ALL ORDER BY sbom_name"
    ).to_pylist()
    by_name = {r["sbom_name"]: r for r in rows}
    laravel = by_name["cyclonedx-php-composer-demo"]  # laravel-7.12.0.cdx-1.4.json
    assert (laravel["n"], laravel["hashed"], laravel["trusted"]) == (62, 0, False)
    assert by_name["lhc-vdm-editor"]["n"] == 43 and by_name["lhc-vdm-editor"]["hashed"] == 43
    assert by_name["examplemaven"]["sbom_format"] == "SPDX" and by_name["examplemaven"]["n"] == 6
    witness = by_name["alpine"]  # carried inside the verified witness collection
    assert (witness["carrier"], witness["trusted"], witness["n"]) == ("witness", True, 15)
    one = lake.sql(
        "SELECT licenses, hashes FROM sbom_components WHERE purl = 'pkg:npm/puppeteer@1.19.0'"
    ).to_pylist()
    assert one[0]["licenses"] == '["Apache-2.0"]' and '"sha512"' in one[0]["hashes"]


def test_other_tools_predicates_are_normalised(crawled: tuple[CrawlResult, Lake, Path]) -> None:
    _, lake, _ = crawled
    prov = lake.sql(
        "SELECT builder_id, source_repo, source_commit FROM provenance ORDER BY source_repo"
    ).to_pylist()
    assert prov == [
        {
            "builder_id": "https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1",
            "source_repo": "https://github.com/aspect-build/rules_lint",
            "source_commit": "8f70009fde0c94ade6ce2a054b94718c819126ec",
        },
        {
            "builder_id": "https://github.com/actions/runner/github-hosted",
            "source_repo": "https://github.com/malancas/attest-demo",
            "source_commit": "95baf27389e83e6a5c48f42e190d48d7abcea19e",
        },
    ]
    vsa = lake.sql("SELECT verification_result, verified_levels FROM verification_summaries")
    assert vsa.to_pylist() == [
        {"verification_result": "PASSED", "verified_levels": '["BCID_L1","SLSA_BUILD_LEVEL_2"]'}
    ]
    types = lake.sql(
        "SELECT collection_name, count(*) AS n FROM witness_attestations GROUP BY ALL ORDER BY 1"
    ).to_pylist()
    assert types == [{"collection_name": "build", "n": 5}, {"collection_name": "sbom", "n": 4}]
    # Chainloop's statements are parseable for inspection, never trusted.
    chainloop = lake.sql(
        "SELECT format, trusted FROM attestations WHERE predicate_type ="
        " 'chainloop.dev/attestation/v0.2' ORDER BY format"
    ).to_pylist()
    assert chainloop == [
        {"format": "dsse", "trusted": False},
        {"format": "sigstore-bundle-v0.3", "trusted": False},
        {"format": "statement", "trusted": False},
    ]
    assert lake.sql("SELECT count(*) AS n FROM runs").to_pylist() == [{"n": 0}]
    npm = lake.sql(
        "SELECT trusted FROM attestations WHERE predicate_type LIKE 'https://github.com/npm/%'"
        " ORDER BY trusted"
    ).column(0)
    assert npm.to_pylist() == [False, False, True]  # kept with its type and raw JSON


def test_signed_bytes_are_kept_by_digest(crawled: tuple[CrawlResult, Lake, Path]) -> None:
    import hashlib

    _, lake, _ = crawled
    rows = lake.sql("SELECT statement_digest, statement FROM attestations").to_pylist()
    assert len(rows) == 14
    for row in rows:
        digest = "sha256:" + hashlib.sha256(row["statement"].encode()).hexdigest()
        assert digest == row["statement_digest"]


def test_recrawling_the_corpus_ingests_nothing(
    crawled: tuple[CrawlResult, Lake, Path], corpus: Path
) -> None:
    first, _, tmp = crawled
    assert first.discovered == first.ingested == len(expected(corpus))
    again = crawl(open_source(str(corpus)), tmp / "lake", load_policy(tmp / "trust.yaml"), now=NOW)
    assert again.ingested == 0 and again.already_known == first.discovered
