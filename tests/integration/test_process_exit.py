"""Commands end the process normally: atexit handlers run (profilers and coverage rely on them),
the exit code is the command's, and no worker process is left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from attestlake import open_lake
from tests.unit.test_verify import Keys, write_policy

SCRIPT = """
import atexit, sys
marker = sys.argv[1]
atexit.register(lambda: open(marker, "w").write("atexit ran"))
sys.argv = ["attestlake", *sys.argv[2:]]
from attestlake._cli import main
main()
"""


def _statement(i: int) -> bytes:
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": f"app{i}", "digest": {"sha256": f"{i:064x}"}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"buildType": "x"}, "runDetails": {}},
        }
    ).encode()


def _marked_processes(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _python(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Python run with ``args`` in ``tmp_path``, and the mark in its environment (and its
    children's: :func:`_marked_processes` finds them)."""
    mark = uuid.uuid4().hex
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env={**os.environ, "ATTESTLAKE_EXIT_TEST_MARK": mark},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    return proc, mark


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path, str]:
    marker = tmp_path / "atexit"
    proc, mark = _python(tmp_path, "-c", SCRIPT, str(marker), *args)
    return proc, marker, mark


def test_a_crawl_with_workers_exits_normally(tmp_path: Path) -> None:
    team = Keys(tmp_path, "team")
    policy = write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(40):  # more than the parallel threshold: the worker pool is used
        (docs / f"{i}.json").write_bytes(team.sign(_statement(i)))
    proc, marker, mark = _run(
        tmp_path, "crawl", "--from", str(docs), "--lake", "lake", "--trust", str(policy),
        "--jobs", "2", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verified"] == 40
    assert marker.read_text() == "atexit ran"
    assert "terminate called" not in proc.stderr
    assert _marked_processes(mark) == []


def test_an_error_exits_with_its_code_after_atexit(tmp_path: Path) -> None:
    proc, marker, _ = _run(tmp_path, "query", "run", "runs_by_status", "--lake", "absent")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: ")
    assert marker.read_text() == "atexit ran"


UNGUARDED = """
import sys
from pathlib import Path
from attestlake.crawl.job import crawl_job
result = crawl_job(
    [sys.argv[1]], Path(sys.argv[2]), Path(sys.argv[3]),
    batch_size=1000, max_blob_size="16MiB", jobs=2,
)
print("crawled", result.verified, result.warnings)
"""


def test_a_script_without_a_main_guard_crawls_without_workers(tmp_path: Path) -> None:
    """Python runs the script that starts a crawl again in each worker. A script that calls
    the crawl at its top level, with no ``if __name__ == "__main__":``, used to crawl again in
    the worker and wait forever for the lake's writer lock its parent held. The worker now
    refuses with the reason, and the crawl ends without workers and says so."""
    team = Keys(tmp_path, "team")
    policy = write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(40):  # more than the parallel threshold of an explicit --jobs
        (docs / f"{i}.json").write_bytes(team.sign(_statement(i)))
    script = tmp_path / "unguarded.py"  # a file: a -c script is not run again in a worker
    script.write_text(UNGUARDED, encoding="utf-8")
    proc, mark = _python(tmp_path, str(script), str(docs), str(tmp_path / "lake"), str(policy))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("crawled") == 1  # the worker did not crawl
    assert proc.stdout.startswith("crawled 40 ('a worker process ended before the crawl did")
    assert "InputError: a lake writer was called while a worker process was starting" in (
        proc.stderr
    )
    assert 'if __name__ == "__main__":' in proc.stderr
    assert _marked_processes(mark) == []
    with open_lake(tmp_path / "lake") as lake:
        assert lake.sql(
            "SELECT status, count(*) n FROM verifications GROUP BY status"
        ).to_pylist() == [{"status": "verified", "n": 40}]
