"""Running a command: typer's command built from every module's commands, and the mapping of
errors to exit codes (documented in the README). Errors derive from
:class:`attestlake.errors.Error`; they are caught here only, printed as one line (with a
traceback under ``--verbose``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol, TextIO

import typer.main

from attestlake._cli import (  # noqa: F401  (registers commands)
    audit,
    collect,
    crawling,
    demo,
    lake,
    policy,
)
from attestlake._cli.app import app, reflow_help
from attestlake._cli.console import outcome, state
from attestlake._internal.output import output_failed
from attestlake.errors import OutputError

__all__ = ["app", "command", "run"]

reflow_help(app)


class _Command(Protocol):
    def main(self, args: list[str] | None, prog_name: str) -> Any: ...


@cache
def command() -> _Command:
    """The Click command typer builds from :data:`app`, built once per process: building it
    reads every command's signature, which costs more than most commands run in a test."""
    return typer.main.get_command(app)


def run(args: Sequence[str] | None = None) -> int:
    """Run one command (``args``, or the process's arguments) and return its exit code: usage
    errors 2 (typer), the others as :func:`attestlake._cli.console.outcome` gives them.

    Commands close what they open (DuckDB connections, the crawl's worker pool, registry
    sessions) before they return, so the process ends normally: atexit handlers and profilers
    run, and no worker outlives the command. Bugs (any other exception) propagate with their
    traceback.
    """
    state["verbose"] = False
    argv = None if args is None else list(args)
    stdout = sys.stdout
    sys.stdout = _Reported(stdout)
    try:
        return outcome(lambda: command().main(args=argv, prog_name="attestlake"))
    finally:
        sys.stdout = stdout


class _Reported:
    """Standard output whose failed writes are an OutputError (one line, exit 1), also where
    typer writes itself (its help, its messages); a reader that went away stays a
    BrokenPipeError, which typer ends quietly."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(output_failed(exc)) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(output_failed(exc)) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
