"""Writing a command's output when its reader or its device fails."""

from __future__ import annotations

import os
import sys

__all__ = ["output_failed", "quiet_stdout"]


def output_failed(exc: OSError, err: bool = False) -> str:
    """The message for output that cannot be written (``err``: to standard error)."""
    what = "standard error" if err else "standard output"
    return f"cannot write to {what}: {exc.strerror or exc}"


def quiet_stdout() -> None:
    """After the reader of standard output went away: send what is still buffered nowhere, so
    the interpreter's last flush raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
