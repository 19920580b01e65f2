"""Starting the CLI for help or for the collector imports none of the lake's engines: CI runs
``attestlake attest`` on every build, and pyarrow, deltalake, duckdb and polars would make
each step pay for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ENGINES = ("pyarrow", "deltalake", "duckdb", "polars")
SCRIPT = f"""
import contextlib, io, json, sys
from attestlake._cli import run
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = run(sys.argv[1:])
print(json.dumps({{"code": code, "help": "Usage" in out.getvalue(),
                  "engines": sorted(m for m in {ENGINES!r} if m in sys.modules)}}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["attest", "--help"],
        ["attest", "init", "--help"],
        ["attest", "add", "--help"],
        ["attest", "push", "--help"],
        ["attest", "status", "--help"],
        ["attest", "reset", "--help"],
    ],
    ids=lambda args: " ".join(args),
)
def test_help_imports_no_lake_engine(tmp_path: Path, args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer == {"code": 0, "help": True, "engines": []}
