"""The benchmark generator (benchmarks/generate.py): a small organisation, crawled, and the
saved queries find exactly what it planted. So the generator cannot rot."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestlake.audit.queries import query_lake
from attestlake.lake.lake import Lake
from attestlake.store.layout import LayoutStore
from benchmarks.generate import main as generate_main
from benchmarks.organisation.generate import Generated, generate
from benchmarks.organisation.plan import make_plan
from tests.integration.cli_helpers import run_cli

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Generated, Path]:
    root = tmp_path_factory.mktemp("organisation")
    made = generate(root / "org", 60, days=20, jobs=2, now=NOW, say=lambda _line: None)
    result = run_cli(
        root,
        "crawl",
        "--from",
        f"oci:{made.store}",
        "--trust",
        str(made.trust_policy),
        "--lake",
        str(root / "lake"),
        "--json",
    )
    assert result.code == 0, result.err
    return made, root / "lake"


def _workflows(lake: Path, query: str, **params: object) -> set[str]:
    with Lake.open(lake) as opened:
        rows = query_lake(opened, query, dict(params), now=NOW).rows
    return {f"{r['project']}/{r['workflow']}" for r in rows}


def test_the_store_holds_every_run_signed_with_keys_and_keyless(
    crawled: tuple[Generated, Path],
) -> None:
    made, lake = crawled
    tags = [tag for tag, _ in LayoutStore(made.store).list_manifests()]
    runs = [t for t in tags if t.startswith("run-")]
    assert len(runs) == len(set(runs)) == made.runs == 60
    assert made.bundles > 0 and made.envelopes > made.runs  # provenance beside run statements
    with Lake.open(lake) as opened:
        outcomes = opened.sql(
            "SELECT format, trusted, count(*) AS n FROM attestations GROUP BY ALL"
        ).to_pylist()
    verified_bundles = sum(r["n"] for r in outcomes if r["trusted"] and "bundle" in r["format"])
    untrusted = sum(r["n"] for r in outcomes if not r["trusted"])
    assert verified_bundles == made.bundles  # the private Sigstore instance's bundles verify
    assert untrusted == 2  # only the rogue key's run statement and its provenance
    assert json.loads((made.store.parent / "generated.json").read_text())["runs"] == 60


def test_the_saved_queries_find_exactly_the_planted_findings(
    crawled: tuple[Generated, Path],
) -> None:
    made, lake = crawled
    planted = {plant: set(workflows) for plant, workflows in made.planted.items()}
    assert all(planted.values()), planted  # every plant is in even a small organisation
    missing_sbom = planted["image-without-sbom"] | planted["stale-sbom"] | planted["dropped-sbom"]
    assert _workflows(lake, "missing_sbom_digests") == missing_sbom
    assert _workflows(lake, "non_compliant_workflows") == planted["dropped-sbom"]
    assert _workflows(lake, "new_dependencies") == planted["new-dependency"]
    assert _workflows(lake, "verification_failures") == planted["rogue-signer"]
    with Lake.open(lake) as opened:
        failed = opened.sql(
            "SELECT DISTINCT project || '/' || workflow AS w FROM run_events "
            "WHERE status = 'failed'"
        ).to_pylist()
    assert {r["w"] for r in failed} == planted["failures"]


def test_the_same_seed_plans_the_same_organisation() -> None:
    assert make_plan(5000, seed=7) == make_plan(5000, seed=7)
    assert make_plan(5000, seed=7) != make_plan(5000, seed=8)
    plan = make_plan(5000)
    assert sum(p.runs for p in plan.workflows) == 5000
    sizes = [len(p.workflow.components) for p in plan.workflows]
    assert min(sizes) >= 10 and max(sizes) >= 100  # tens to hundreds of components


def test_bad_arguments_are_refused_and_a_foreign_directory_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert generate_main([str(foreign), "--runs", "60"]) == 2
    assert "not empty and was not made by the generator" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert generate_main([str(tmp_path / "few"), "--runs", "5"]) == 2
    assert "at least 12 runs" in capsys.readouterr().err
    assert not (tmp_path / "few").exists()
    with pytest.raises(SystemExit):
        generate_main([str(tmp_path / "zero"), "--runs", "0"])
    assert "must be at least 1" in capsys.readouterr().err


def test_the_bundle_store_of_target_4_gives_the_loop_and_the_crawl_the_same_outcomes(
    crawled: tuple[Generated, Path], tmp_path: Path
) -> None:
    """benchmarks/run --only sigstore: the bundles it signs verify with sigstore-python's own
    Verifier as they do in a crawl, the other organisation's and the changed ones in neither."""
    from benchmarks.measure.bundles import bundle_store, loop

    made, _ = crawled
    store = bundle_store(made, 90)
    assert (store.bundles, store.foreign, store.tampered) == (90, 2, 1)
    assert bundle_store(made, 90) == store  # made once
    looped = loop(store, store.raw_bundles())
    assert (looped.verified, looped.not_verified) == (87, 3)
    result = run_cli(
        tmp_path,
        "crawl",
        "--from",
        str(store.folder),
        "--trust",
        str(store.trust_policy),
        "--lake",
        str(tmp_path / "lake"),
        "--json",
    )
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert (summary["verified"], summary["not_verified"]) == (87, 3)
    assert summary["reasons"] == {"bad_signature": 1, "untrusted_signer": 2}


def test_the_listing_benchmark_lists_a_synthetic_index_as_the_layout_store_does(
    tmp_path: Path,
) -> None:
    """benchmarks.measure.listing: its synthetic index.json is a layout the store lists, and
    the stream and the whole read find the same manifests (else it stops)."""
    from benchmarks.measure.listing import figures, synthetic

    synthetic(tmp_path, 2000)
    listed = list(LayoutStore(tmp_path).list_manifests())
    assert len(listed) == 2000 and listed[0][0] == "run-00000000"
    memory, cpu = figures(tmp_path)
    assert memory.target == "6 listing 2,000 manifests, peak memory"
    assert memory.unit == "MiB" and cpu.unit == "s" and memory.baseline is not None


def test_the_floors_read_every_signed_document_and_refuse_a_changed_blob(
    crawled: tuple[Generated, Path], tmp_path: Path
) -> None:
    """benchmarks/run --only floors: the least a crawler reads is every signed document of the
    store, each blob's digest checked; a blob whose bytes changed stops it."""
    import shutil

    from benchmarks.measure.floors import kept_columns, kept_streams, read_check_parse
    from benchmarks.measure.rawscan import SIGNED

    made, lake = crawled
    public = (made.store.parent / "keys" / "ci.pub").read_bytes()
    least = read_check_parse(made.store, public)
    blobs = made.store / "blobs" / "sha256"
    signed = [  # every run's statements and provenance, and the contracts and inventory published
        layer
        for entry in json.loads((made.store / "index.json").read_bytes())["manifests"]
        for layer in json.loads((blobs / entry["digest"].split(":", 1)[1]).read_bytes())["layers"]
        if layer["mediaType"] in SIGNED
    ]
    assert least.documents == len(signed) > made.envelopes + made.bundles
    assert least.cpu_seconds > 0
    streams = kept_streams(made.store)
    assert streams.documents == least.documents
    assert 0 < streams.payload_bytes + streams.rest_bytes < streams.raw_bytes
    sizes = kept_columns(lake)
    assert all(sizes[k] > 0 for k in ("attestations.statement", "blobs.content"))
    assert sizes["sbom_components"] > 0
    assert sizes["*"] > sum(v for k, v in sizes.items() if k != "*")

    store = tmp_path / "store"
    shutil.copytree(made.store, store)
    changed = store / "blobs" / "sha256" / signed[0]["digest"].split(":", 1)[1]
    changed.write_bytes(changed.read_bytes().replace(b"{", b"{ ", 1))
    with pytest.raises(RuntimeError, match="another digest"):
        read_check_parse(store, public)
    index = json.loads((store / "index.json").read_bytes())
    index["manifests"][0]["digest"] = "sha256:../../index.json"  # outside the blobs
    (store / "index.json").write_text(json.dumps(index))
    with pytest.raises(RuntimeError, match="not a sha256 digest"):
        read_check_parse(store, public)


def test_the_floor_of_the_crawl_s_processes_counts_the_command_and_its_workers(
    crawled: tuple[Generated, Path],
) -> None:
    """``python -m benchmarks.measure.child processes``: the crawl's command, its workers'
    server and two workers started, their memory read, nothing left running."""
    import subprocess
    import sys

    made, _ = crawled
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.measure.child",
            "processes",
            str(made.trust_policy),
            "2",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    idle = json.loads(out.stdout)
    assert idle["processes"] >= 4  # the command, the server, two workers (and a tracker)
    assert idle["command"] > 0 and idle["others"] > 0


def test_the_batches_target_crawls_once_for_each_bound_and_only_when_named(
    crawled: tuple[Generated, Path], tmp_path: Path
) -> None:
    """benchmarks/run --only batches: a first crawl of the organisation for each
    ``--batch-memory`` bound, each peak and time against the default's; never run unasked."""
    import re

    from benchmarks.measure.targets import BATCH_MEMORY, Bench, batches, chosen

    made, _ = crawled
    figures = batches(Bench(made, tmp_path / "unused", 1, None))

    assert [f.target for f in figures] == [
        f"6 crawl {what}, --batch-memory {size}"
        for size in BATCH_MEMORY
        for what in ("peak", "time")
    ]
    assert figures[0].ratio == figures[1].ratio == 1.0
    assert all(f.value > 0 and f.baseline == figures[i % 2].value for i, f in enumerate(figures))
    written = [int(re.findall(r"\((\d+) batches\)", f.goal)[0]) for f in figures[::2]]
    assert written == sorted(written) and written[0] >= 1
    assert not (tmp_path / "unused").exists()
    assert "batches" not in chosen(None) and {"crawl", "floors", "size"} <= set(chosen(None))
    assert chosen(["size", "batches"]) == ["size", "batches"]
