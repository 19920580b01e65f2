"""Crawling a real registry (docker-registry 2.8, no referrers API): corpus bundles pushed as
OCI 1.1 referrers (the ``sha256-<hex>`` tag schema) and DSSE envelopes as cosign ``.att`` tags,
found again by ``attestlake crawl --from HOST/REPO`` and ``--from HOST/*``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

from attestlake.crawl.crawl import crawl
from attestlake.crawl.sources import open_source
from attestlake.crawl.sources.store import StoreSource
from attestlake.store import Descriptor, Manifest
from attestlake.store.oci import EMPTY_JSON, EMPTY_MEDIA_TYPE, INDEX_MEDIA_TYPE
from attestlake.store.registry import RegistryStore
from attestlake.verify.verify import load_policy
from tests.integration.cli_helpers import run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_crawl_corpus import corpus_policy, expected

pytestmark = [pytest.mark.registry, pytest.mark.corpus]
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
INTOTO = "application/vnd.in-toto+json"


def documents(corpus: Path) -> dict[str, tuple[str, bytes]]:
    """Corpus file -> (layer media type, document bytes) for every attestation file."""
    out = {}
    for row in expected(corpus):
        fmt = row["format"]
        if not fmt.startswith(("dsse", "sigstore-bundle", "in-toto statement")):
            continue
        raw = (corpus / row["file"]).read_bytes()
        if row["file"].endswith(".jsonl"):
            raw = raw.splitlines()[0]
        media = BUNDLE if fmt.startswith("sigstore") else DSSE if fmt.startswith("dsse") else INTOTO
        out[row["file"]] = (media, raw)
    return out


def push_image(repo: RegistryStore, n: int) -> Manifest:
    """A small artifact standing for a container image, tagged ``v<n>``."""
    repo.put_blob(EMPTY_JSON, EMPTY_MEDIA_TYPE)
    layer = repo.put_blob(f"image {n}".encode(), "application/octet-stream")
    image = Manifest.build(
        artifact_type="application/vnd.test.image", layers=[layer], annotations={}
    )
    repo.put_manifest(image, tag=f"v{n}")
    return image


def push_referrers_index(repo: RegistryStore, subject: str, referrers: list[Manifest]) -> None:
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [m.descriptor().to_json() for m in referrers],
        }
    ).encode()
    tag = subject.replace(":", "-")
    resp = requests.put(
        f"{repo.base_url}/v2/{repo.repository}/manifests/{tag}",
        data=index,
        headers={"Content-Type": INDEX_MEDIA_TYPE},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text


def populate(repo: RegistryStore, docs: dict[str, tuple[str, bytes]]) -> dict[str, str]:
    """Bundles and statements as untagged referrers; DSSE envelopes as cosign ``.att``.
    Returns the subject ("image") digest of every file."""
    subjects = {}
    for n, (name, (media, raw)) in enumerate(sorted(docs.items())):
        image = push_image(repo, n)
        subjects[name] = image.digest
        layer = repo.put_blob(raw, media)
        if media == DSSE:
            att = Manifest.build(artifact_type=DSSE, layers=[layer], annotations={})
            repo.put_manifest(att, tag=image.digest.replace(":", "-") + ".att")
            continue
        ref = Manifest.build(
            artifact_type=media, layers=[layer], annotations={}, subject=image.descriptor()
        )
        repo.put_manifest(ref)  # untagged: found only through its subject
        push_referrers_index(repo, image.digest, [ref])
    return subjects


def verified_files(lake: Path, docs: dict[str, tuple[str, bytes]]) -> dict[str, str]:
    from attestlake import open_lake

    by_digest = {"sha256:" + hashlib.sha256(raw).hexdigest(): f for f, (_, raw) in docs.items()}
    with open_lake(lake) as opened:
        rows = opened.sql("SELECT envelope_digest, status, source FROM verifications").to_pylist()
    assert {by_digest[r["envelope_digest"]] for r in rows} == set(docs)
    return {by_digest[r["envelope_digest"]]: r["status"] for r in rows}


def test_referrers_and_att_tags_are_crawled(
    registry: RegistryServer, corpus: Path, tmp_path: Path
) -> None:
    docs = documents(corpus)
    repo = RegistryStore(registry.url, "corpus/referrers")
    subjects = populate(repo, docs)
    assert not repo.has_referrers_api()  # 2.8: the tag schema is the way
    bundle = subjects["gh.reusable-workflow-attestation.sigstore.json"]
    assert [d.artifact_type for d in repo.referrers(bundle)] == [BUNDLE]

    policy = corpus_policy(corpus, tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    ref = f"{registry.host}/corpus/referrers"
    args = ("crawl", "--from", ref, "--lake", "lake", "--trust", str(policy), "--json")
    result = run_cli(tmp_path, *args, env=env)
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["ingested"] == len(docs) and summary["other_manifests"] == len(docs)
    statuses = verified_files(tmp_path / "lake", docs)
    want = {r["file"] for r in expected(corpus) if r["expected"] == "verified"}
    assert {f for f, s in statuses.items() if s == "verified"} == want

    again = run_cli(tmp_path, *args, env=env)
    assert again.json()["ingested"] == 0 and again.json()["already_known"] == len(docs)

    sources = run_cli(
        tmp_path,
        "sql",
        "--lake",
        "lake",
        "--format",
        "json",
        "SELECT source FROM verifications ORDER BY source",
    ).json()
    assert any(s["source"].endswith(".att") for s in sources)
    assert any("@sha256:" in s["source"] for s in sources)


def test_every_repository_of_a_registry_with_pagination(
    registry: RegistryServer, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(RegistryStore, "page_size", 2)  # many pages of tags and repositories
    docs = documents(corpus)
    names = sorted(docs)
    half = len(names) // 2
    populate(RegistryStore(registry.url, "fleet/a"), {f: docs[f] for f in names[:half]})
    populate(RegistryStore(registry.url, "fleet/b"), {f: docs[f] for f in names[half:]})

    source = open_source(f"{registry.host}/fleet/*")
    assert list(source.repositories()) == ["fleet/a", "fleet/b"]  # type: ignore[attr-defined]
    policy = load_policy(corpus_policy(corpus, tmp_path))
    result = crawl(source, tmp_path / "lake", policy)
    assert result.ingested == len(docs) and not result.warnings
    statuses = verified_files(tmp_path / "lake", docs)
    assert sum(s == "verified" for s in statuses.values()) == sum(
        r["expected"] == "verified" for r in expected(corpus)
    )


def test_tampered_blob_and_missing_manifest_become_rows(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """A manifest naming a referrer that is gone, or a blob bigger than the bound, is recorded
    as malformed; the crawl goes on."""
    repo = RegistryStore(registry.url, "hostile/app")
    image = push_image(repo, 1)
    big = repo.put_blob(b"{" + b" " * 4096 + b"}", DSSE)
    att = Manifest.build(artifact_type=DSSE, layers=[big], annotations={})
    repo.put_manifest(att, tag=image.digest.replace(":", "-") + ".att")
    ghost = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "e" * 64, 10)
    index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [ghost.to_json()]}
    requests.put(
        f"{repo.base_url}/v2/{repo.repository}/manifests/" + image.digest.replace(":", "-"),
        data=json.dumps(index).encode(),
        headers={"Content-Type": INDEX_MEDIA_TYPE},
        timeout=30,
    )
    (tmp_path / "trust.yaml").write_text("keys: []\n")
    source = StoreSource(repo, max_document_size=1024)
    result = crawl(source, tmp_path / "lake", load_policy(tmp_path / "trust.yaml"))
    assert result.not_verified >= 1 and result.reasons.get("malformed", 0) >= 1
