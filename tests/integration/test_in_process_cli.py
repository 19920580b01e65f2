"""The in-process command runner the CLI tests use sees everything a subprocess would print:
``sys.stdout``/``sys.stderr`` and file descriptors 1 and 2 (native code), with the exit code
:func:`attestlake._cli.main` would exit with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import attestlake._cli.dispatch as cli
from tests.integration.cli_helpers import run_cli, run_cli_process


def test_native_writes_are_captured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cli.command()

    class WritingNatively:
        def main(self, *args: Any, **kwargs: Any) -> Any:
            os.write(1, b"written to fd 1\n")
            os.write(2, b"written to fd 2\n")
            return real.main(*args, **kwargs)

    monkeypatch.setattr(cli, "command", WritingNatively)
    result = run_cli(tmp_path, "--version")
    assert result.code == 0
    assert "written to fd 1" in result.out and "attestlake" in result.out
    assert "written to fd 2" in result.err


@pytest.mark.parametrize(
    "args", [("--version",), ("query", "run", "x", "--lake", "absent"), ("no-such-command",)]
)
def test_in_process_and_subprocess_runs_agree(tmp_path: Path, args: tuple[str, ...]) -> None:
    inside, outside = run_cli(tmp_path, *args), run_cli_process(tmp_path, *args)
    assert (inside.code, inside.out, inside.err) == (outside.code, outside.out, outside.err)
