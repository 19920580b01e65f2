"""Spill directories: private, removed when the work ends, and removed by the next bounded
work when the process that made one was killed (a crawl killed while it computed its
maintained tables leaves the lake's data in the temporary directory)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from attestlake.lake.session_memory import spilling

KILLED = """
import os, signal, sys
from attestlake.lake.session_memory import spilling
with spilling() as bound:
    (bound.spill / "duckdb_temp_block-0.block").write_bytes(b"lake data" * 1000)
    print(bound.spill, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_spill(tmp: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "-c", KILLED],
        env={**os.environ, "TMPDIR": str(tmp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    return Path(proc.stdout.strip())


def test_a_killed_processs_spill_is_removed_by_the_next_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    left = _killed_spill(tmp)
    assert left.is_dir() and left.parent == tmp and (left.stat().st_mode & 0o777) == 0o700
    running = tmp / f"attestlake-spill-{os.getpid()}-running"  # a live process's
    running.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("kept")
    link = tmp / "attestlake-spill-999999999-link"  # no such pid; not a directory of ours
    link.symlink_to(elsewhere, target_is_directory=True)
    unnamed = tmp / "attestlake-spill-notapid"
    unnamed.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    with spilling() as bound:
        assert bound is not None and bound.spill.name.startswith(f"attestlake-spill-{os.getpid()}-")
        assert not left.exists()
        assert running.is_dir() and unnamed.is_dir() and link.is_symlink()
        assert (elsewhere / "keep").read_text() == "kept"
    assert not bound.spill.exists()
    assert sorted(p.name for p in tmp.iterdir()) == sorted([running.name, link.name, unnamed.name])
