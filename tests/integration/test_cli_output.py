"""Output that cannot be written: a reader that went away (``attestlake ... | head``) ends the
command quietly, as typer ends any command; a full or failing device is one clear line on
standard error, never a traceback, whichever path printed the output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# A help page written ahead (printed without typer), a command's own output (through typer),
# and help that typer prints itself (a terminal narrower than the pages).
CASES = {
    "page written ahead": (["--help"], "100"),
    "typer": (["query", "list"], "100"),
    "typer's help": (["attest", "init", "--help"], "60"),
}


def _attestlake(tmp_path: Path, args: list[str], columns: str, stdout: int) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-c", "from attestlake._cli import main; main()", *args],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": columns},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("case", CASES)
def test_a_full_device_is_one_line_and_exit_1(tmp_path: Path, case: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full")
    args, columns = CASES[case]
    with open("/dev/full", "w") as full:
        code, err = _attestlake(tmp_path, args, columns, full.fileno())
    assert code == 1
    assert err == "error: cannot write to standard output: No space left on device\n"


@pytest.mark.parametrize("case", CASES)
def test_a_reader_that_went_away_ends_the_command_quietly(tmp_path: Path, case: str) -> None:
    args, columns = CASES[case]
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE
    try:
        code, err = _attestlake(tmp_path, args, columns, write)
    finally:
        os.close(write)
    assert (code, err) == (1, "")
