"""Running a command: typer's command built from every module's commands, and the mapping of
errors to exit codes (documented in the README). Errors derive from
:class:`attestlake.errors.Error`; they are caught here only, printed as one line (with a
traceback under ``--verbose``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

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
from attestlake._cli.console import ReportedStdout, outcome, state

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
    sys.stdout = ReportedStdout(stdout)
    try:
        return outcome(lambda: command().main(args=argv, prog_name="attestlake"))
    finally:
        sys.stdout = stdout
