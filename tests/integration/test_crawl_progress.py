"""A crawl's progress: the phases (listing, fetching, verifying, writing) a caller hears, with
counts and totals, and what ``attestlake crawl`` draws on a terminal (and not elsewhere)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from attestlake.crawl.crawl import crawl
from attestlake.crawl.progress import FETCHING, LISTING, PHASES, WRITING, CrawlProgress
from attestlake.intoto.dsse import ENVELOPE_MEDIA_TYPE
from attestlake.store.layout import LayoutStore
from attestlake.verify.verify import load_policy
from tests.integration.cli_helpers import run_cli
from tests.integration.test_crawl_store import NOW, Signer, make_signer, push, run_statement


def build(root: Path, signer: Signer, runs: int) -> LayoutStore:
    """``runs`` signed runs and one manifest that is no attestation (an image)."""
    store = LayoutStore(root)
    for n in range(runs):
        push(store, [(ENVELOPE_MEDIA_TYPE, signer.envelope(run_statement(n)))], tag=f"run-{n}")
    push(store, [], tag="image", evidence=[("application/octet-stream", b"an image")])
    return store


def by_phase(events: list[CrawlProgress]) -> dict[str, list[CrawlProgress]]:
    out: dict[str, list[CrawlProgress]] = {}
    for event in events:
        out.setdefault(event.phase, []).append(event)
    return out


def test_the_caller_hears_every_phase_with_its_counts_and_totals(tmp_path: Path) -> None:
    signer = make_signer(tmp_path / "keys")
    store = build(tmp_path / "store", signer, runs=5)
    policy = load_policy(signer.trust)
    events: list[CrawlProgress] = []

    result = crawl(store, tmp_path / "lake", policy, now=NOW, batch_size=2, jobs=1,
                   progress=events.append)  # fmt: skip
    assert result.ingested == 5 and result.other_manifests == 1

    assert list(dict.fromkeys(e.phase for e in events)) == list(PHASES)
    phases = by_phase(events)
    for phase, heard in phases.items():
        done = [e.done for e in heard]
        assert done == sorted(done), f"{phase} went backwards: {done}"
        assert heard[-1] == CrawlProgress(phase, 6, 6)  # 5 runs and the image, all done
    listing = phases[LISTING]
    assert [e.done for e in listing] == [1, 2, 3, 4, 5, 6, 6]
    assert [e.total for e in listing] == [None] * 6 + [6]  # known once the listing ended
    writing = [(e.done, e.total) for e in phases[WRITING]]
    assert writing == [(2, None), (4, None), (4, 6), (6, 6)]  # per batch, and at listing's end

    again: list[CrawlProgress] = []
    crawl(store, tmp_path / "lake", policy, now=NOW, progress=again.append)
    heard = by_phase(again)
    assert heard[LISTING][-1] == CrawlProgress(LISTING, 6, 6)
    assert heard[FETCHING][-1] == CrawlProgress(FETCHING, 1, 1)  # the image only, read again


def test_the_terminal_shows_phases_totals_and_rates_and_a_log_shows_none(
    tmp_path: Path,
) -> None:
    signer = make_signer(tmp_path / "keys")
    build(tmp_path / "store", signer, runs=40)
    args = ["crawl", "--from", "store", "--lake", "lake", "--trust", "keys/trust.yaml"]

    logged = run_cli(tmp_path, *args[:4], "logged", *args[5:])
    assert logged.code == 0, logged.err
    assert logged.err == ""  # not a terminal: nothing drawn

    leader, follower = pty.openpty()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "attestlake._cli", *args, "--batch-size", "8"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    out = proc.communicate(timeout=120)[0].decode()
    os.close(leader)
    assert proc.returncode == 0, drawn.decode(errors="replace")
    assert out.startswith("crawled oci:store: 40 attestations")  # the summary on stdout only
    screen = drawn.decode(errors="replace")
    for phase in PHASES:
        assert phase in screen
    assert "41/41" in screen  # the listing's total
    assert "units/s" in screen
