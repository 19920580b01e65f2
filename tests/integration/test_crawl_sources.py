"""What ``crawl --from`` reads: every source given, in one crawl; a source that lists nothing
(a path that is not there, a registry repository unknown or without tags, a registry with no
repositories) refused before anything is written, unless --allow-empty; and the lake
directory, which must be a lake, or new, or empty."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from attestlake import open_lake
from attestlake.crawl.sources.combined import CombinedSource, open_sources
from attestlake.crawl.sources.interface import Candidate, Source
from attestlake.errors import InputError
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store import Manifest, Store
from attestlake.store.layout import LayoutStore
from attestlake.store.registry import RegistryStore
from tests.integration.cli_helpers import Result, run_cli
from tests.integration.collector_helpers import push_image
from tests.integration.registry_server import RegistryServer
from tests.integration.test_crawl_store import Signer, make_signer, push, run_statement
from tests.security.lake_fixtures import listing

ALLOW = "pass --allow-empty if an empty source is expected"


def push_runs(store: Store, signer: Signer, numbers: range) -> list[Manifest]:
    return [
        push(store, [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(n)))], tag=f"run-{n}")
        for n in numbers
    ]


def crawl(cwd: Path, *args: str) -> Result:
    return run_cli(cwd, "crawl", *args, "--lake", "lake", "--trust", "keys/trust.yaml", "--json")


def lake_runs(lake: Path) -> list[str]:
    with open_lake(lake) as opened:
        return [r["run_id"] for r in opened.sql("SELECT run_id FROM runs ORDER BY 1").to_pylist()]


def journal_sources(lake: Path) -> set[str]:
    """The sources the journal's ``started`` and ``completed`` entries name."""
    query = "SELECT source FROM crawls WHERE event IN ('started', 'completed')"
    with open_lake(lake) as opened:
        return {r["source"] for r in opened.sql(query).to_pylist()}


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return make_signer(tmp_path / "keys")


# -- several sources -------------------------------------------------------------------------
def test_every_source_given_is_crawled_in_one_crawl(tmp_path: Path, signer: Signer) -> None:
    push_runs(LayoutStore(tmp_path / "store"), signer, range(2))
    (tmp_path / "bundles").mkdir()
    (tmp_path / "bundles" / "run-2.dsse.json").write_bytes(signer.envelope(run_statement(2)))

    first = crawl(tmp_path, "--from", "store", "--from", "bundles")
    assert first.code == 0, first.err
    summary = first.json()
    assert summary["sources"] == ["oci:store", "bundles"]
    assert summary["source"] == "oci:store, bundles"
    assert (summary["ingested"], summary["verified"], summary["not_verified"]) == (3, 3, 0)
    assert lake_runs(tmp_path / "lake") == ["run-0", "run-1", "run-2"]
    assert journal_sources(tmp_path / "lake") == {"oci:store, bundles"}

    text = run_cli(
        tmp_path, "crawl", "--from", "store", "--from", "bundles", "--lake", "lake",
        "--trust", "keys/trust.yaml",
    )  # fmt: skip
    assert text.code == 0, text.err
    assert text.out.startswith(
        "crawled oci:store, bundles: 3 attestations, 3 already in the lake, 0 new"
    )


def test_a_unit_in_two_sources_or_a_source_given_twice_is_read_once(
    tmp_path: Path, signer: Signer
) -> None:
    push_runs(LayoutStore(tmp_path / "store"), signer, range(3))
    shutil.copytree(tmp_path / "store", tmp_path / "mirror")  # the same manifests

    r = crawl(tmp_path, "--from", "store", "--from", "mirror", "--from", "store")
    assert r.code == 0, r.err
    assert r.json()["sources"] == ["oci:store", "oci:mirror"]
    assert (r.json()["discovered"], r.json()["ingested"]) == (3, 3)
    with open_lake(tmp_path / "lake") as opened:
        rows = opened.sql("SELECT count(*) AS n FROM verifications").to_pylist()
    assert rows == [{"n": 3}]
    assert lake_runs(tmp_path / "lake") == ["run-0", "run-1", "run-2"]


class _Recorded(Source):
    def __init__(self, ref: str, closed: list[str], fail_close: bool = False) -> None:
        self.ref, self.closed, self.fail_close = ref, closed, fail_close

    def candidates(self) -> Iterator[Candidate]:
        yield from ()

    def close(self) -> None:
        self.closed.append(self.ref)
        if self.fail_close:
            raise OSError(f"cannot close {self.ref}")


def test_sources_opened_before_one_that_fails_are_closed() -> None:
    closed: list[str] = []

    def opener(ref: str) -> Source:
        if ref == "bad":
            raise InputError("bad: no such file")
        return _Recorded(ref, closed)

    with pytest.raises(InputError, match="bad: no such file"):
        open_sources(["a", "b", "bad", "c"], opener)
    assert closed == ["a", "b"]

    parts: list[Source] = [_Recorded("x", closed, fail_close=True), _Recorded("y", closed)]
    with pytest.raises(OSError, match="cannot close x"):
        CombinedSource(parts).close()
    assert closed[-2:] == ["x", "y"]  # y is closed although closing x failed


def test_a_second_source_that_does_not_exist_stops_the_crawl_before_it_writes(
    tmp_path: Path, signer: Signer
) -> None:
    push_runs(LayoutStore(tmp_path / "store"), signer, range(2))
    for missing in ("./bundels", "oci:stor"):
        r = crawl(tmp_path, "--from", "store", "--from", missing)
        assert r.code == 1 and r.out == ""
        assert missing.removeprefix("oci:") in r.err and "Traceback" not in r.err
        assert not (tmp_path / "lake").exists()


# -- sources that list nothing ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("oci:nowhere", "no attestations found in oci:nowhere (no such directory)"),
        (
            "empty",
            "no attestations found in empty (no file ending in .json, .jsonl, .ndjson, "
            ".sigstore, .dsse, .intoto, .bundle, .link, .attestation, .provenance in the folder)",
        ),
        ("notes", "no attestations found in notes (no file ending in .json"),
        ("blank.jsonl", "no attestations found in blank.jsonl (no document in the file)"),
    ],
)
def test_a_local_source_that_lists_nothing_is_an_error(
    tmp_path: Path, signer: Signer, source: str, why: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.txt").write_text("no attestations here")
    (tmp_path / "blank.jsonl").write_text("\n\n")

    r = crawl(tmp_path, "--from", source)
    assert (r.code, r.out) == (1, "")
    assert r.err.startswith(f"error: {why}") and r.err.rstrip().endswith(ALLOW)
    assert not (tmp_path / "lake").exists()

    allowed = crawl(tmp_path, "--from", source, "--allow-empty")
    assert allowed.code == 0, allowed.err
    assert (allowed.json()["discovered"], allowed.json()["ingested"]) == (0, 0)
    assert journal_sources(tmp_path / "lake") == {allowed.json()["source"]}


def test_a_missing_file_is_an_error_even_with_allow_empty(tmp_path: Path, signer: Signer) -> None:
    r = crawl(tmp_path, "--from", "bundle.json", "--allow-empty")
    assert r.code == 1 and "bundle.json: no such file, folder or OCI layout directory" in r.err
    assert not (tmp_path / "lake").exists()


@pytest.mark.registry
def test_registry_sources_that_list_nothing_are_errors(
    registry: RegistryServer, tmp_path: Path, signer: Signer
) -> None:
    good = RegistryStore(registry.url, "fleet-of-one/attestations")
    push_runs(good, signer, range(2))
    emptied = RegistryStore(registry.url, "fleet-of-one/emptied")  # its one manifest deleted
    gone = push(emptied, [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(7)))], tag="v1")
    url = f"{registry.url}/v2/fleet-of-one/emptied/manifests/{gone.digest}"
    assert requests.delete(url, timeout=30).status_code == 202
    host = registry.host
    cases = {
        f"{host}/fleet-of-one/attestatoins": f"{registry.url}/fleet-of-one/attestatoins (repository "
        "not found)",
        f"{host}/fleet-of-one/emptied": f"{registry.url}/fleet-of-one/emptied (the repository has "
        "no tags)",
        f"{host}/nobody/*": f"{registry.url}/nobody/* (the registry lists no repositories "
        "under nobody/)",
    }
    for ref, why in cases.items():
        r = crawl(tmp_path, "--from", f"{host}/fleet-of-one/attestations", "--from", ref)
        assert (r.code, r.out) == (1, ""), r.err
        assert r.err == f"error: no attestations found in {why}\n{ALLOW}\n"
        assert not (tmp_path / "lake").exists()

    both = crawl(
        tmp_path, "--from", f"{host}/fleet-of-one/attestations", "--from", f"{host}/fleet-of-one/*"
    )
    assert both.code == 0, both.err
    assert both.json()["sources"] == [
        f"{registry.url}/fleet-of-one/attestations",
        f"{registry.url}/fleet-of-one/*",
    ]
    assert (both.json()["discovered"], both.json()["ingested"]) == (2, 2)  # read once

    allowed = crawl(tmp_path, "--from", f"{host}/fleet-of-one/attestatoins", "--allow-empty")
    assert allowed.code == 0, allowed.err
    assert (allowed.json()["discovered"], allowed.json()["already_known"]) == (0, 0)
    assert lake_runs(tmp_path / "lake") == ["run-0", "run-1"]


@pytest.mark.registry
def test_a_repository_of_images_only_is_an_empty_source(
    registry: RegistryServer, tmp_path: Path, signer: Signer
) -> None:
    """Its tags list manifests, none an attestation: found out once they are read; the crawl
    writes no row, then says so (exit 1), unless --allow-empty."""
    push_image(registry.url, "images-only/app", "1.0")
    push_image(registry.url, "images-only/app", "1.1", b"other rootfs")
    ref = f"{registry.host}/images-only/app"
    refused = crawl(tmp_path, "--from", ref)
    assert refused.code == 1
    assert refused.err == (
        f"error: no attestations found in {registry.url}/images-only/app (2 manifest(s), none "
        f"an attestation or a published contract or inventory: images only?)\n{ALLOW}\n"
    )
    with open_lake(tmp_path / "lake") as lake:
        assert lake.sql("SELECT count(*) AS n FROM verifications").to_pylist() == [{"n": 0}]
    allowed = crawl(tmp_path, "--from", ref, "--allow-empty")
    assert allowed.code == 0, allowed.err
    assert allowed.json()["other_manifests"] == 2


@pytest.mark.registry
def test_a_registry_with_no_repositories_is_an_empty_source(tmp_path: Path) -> None:
    server = RegistryServer(tmp_path / "registry")
    if server.missing_binaries():
        pytest.skip("docker-registry not installed")
    server.start()
    try:
        make_signer(tmp_path / "keys")
        r = crawl(tmp_path, "--from", f"{server.host}/*")
        assert r.code == 1, r.err
        assert r.err == (
            f"error: no attestations found in {server.url}/* (the registry lists no "
            f"repositories)\n{ALLOW}\n"
        )
        assert not (tmp_path / "lake").exists()
    finally:
        server.stop()


# -- the lake directory ----------------------------------------------------------------------
def test_the_lake_must_be_a_lake_or_a_new_or_empty_directory(
    tmp_path: Path, signer: Signer
) -> None:
    push_runs(LayoutStore(tmp_path / "store"), signer, range(1))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("buy milk")
    (tmp_path / "file.txt").write_text("a file")
    before = listing(tmp_path / "notes")
    trust = ("--trust", "keys/trust.yaml")

    as_file = run_cli(tmp_path, "crawl", "--from", "store", "--lake", "file.txt", *trust)
    assert as_file.code == 1
    assert as_file.err.startswith("error: not a lake: file.txt (not a directory")
    assert (tmp_path / "file.txt").read_text() == "a file"

    other = run_cli(tmp_path, "crawl", "--from", "store", "--lake", "notes", *trust)
    assert other.code == 1
    assert other.err.startswith("error: not a lake: notes (no Delta tables found")
    assert listing(tmp_path / "notes") == before

    (tmp_path / "empty").mkdir()
    # a lake another crawl is creating at this moment: its lock file and a table directory
    # without a log yet
    (tmp_path / "starting" / "runs").mkdir(parents=True)
    (tmp_path / "starting" / ".writer.lock").write_bytes(b"")
    for new in ("empty", "brand/new", "starting"):
        made = run_cli(tmp_path, "crawl", "--from", "store", "--lake", new, *trust)
        assert made.code == 0, made.err
        assert lake_runs(tmp_path / new) == ["run-0"]


@pytest.mark.parametrize(
    "command",
    [
        ("sql", "SELECT 1"),
        ("query", "run", "missing_sbom_digests"),
        ("report",),
        ("lake", "check"),
    ],
)
def test_commands_reading_a_lake_refuse_a_path_that_is_not_one(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("buy milk")
    (tmp_path / "file.txt").write_text("a file")
    before = listing(tmp_path)
    for lake, why in (
        ("notes", "no Delta tables found"),
        ("file.txt", "not a directory"),
        ("nowhere", "no such directory"),
    ):
        r = run_cli(tmp_path, *command, "--lake", lake)
        assert (r.code, r.out) == (1, ""), r.err
        assert r.err.startswith(f"error: not a lake: {lake} ({why}")
    assert listing(tmp_path) == before
