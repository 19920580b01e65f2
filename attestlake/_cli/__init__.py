"""The ``attestlake`` command line: a thin layer over the library.

Each command parses its options, calls one library function and renders the result. Errors
derive from :class:`attestlake.errors.Error`; they are caught here only, printed as one line
(with a traceback under ``--verbose``) and mapped to the exit codes documented in the README.
Commands live in one module per area (collect, crawling, audit, demo).
"""

from __future__ import annotations

import sys
import traceback

from attestlake._cli import audit, collect, crawling, demo  # noqa: F401  (registers commands)
from attestlake._cli.app import _echo, _state, app
from attestlake.errors import Error

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: usage errors exit 2 (typer); attestlake errors exit with their own code."""
    try:
        app()
    except Error as exc:
        if _state["verbose"]:
            traceback.print_exc()
        _echo(f"error: {exc.diagnostics()}", err=True)
        sys.exit(exc.exit_code)
