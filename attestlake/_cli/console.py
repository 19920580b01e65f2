"""What every command shares without typer: printing, ``--verbose``, ``KEY=VALUE`` options,
and a command's outcome as an exit code. The collector's steps (:mod:`attestlake._cli.steps`)
run on these alone; the other commands reach them through typer
(:mod:`attestlake._cli.dispatch`)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from attestlake._internal.output import output_failed, quiet_stdout
from attestlake.errors import Error, InputError, OutputError

__all__ = ["ReportedStdout", "echo", "key_values", "outcome", "reported", "state"]

#: ``--verbose`` of the command running: tracebacks of errors are printed too.
state: dict[str, bool] = {"verbose": False}


@contextlib.contextmanager
def reported(err: bool = False) -> Iterator[None]:
    """Output that fails to be written (to standard error with ``err``) as an OutputError
    saying why: one line, exit 1. A reader that went away (``| head``) stays a
    BrokenPipeError: the command ends quietly, exit 1."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(output_failed(exc, err)) from None


def echo(text: str = "", err: bool = False) -> None:
    """Print ``text`` and a newline (none when it ends with one) to standard output, or to
    standard error with ``err``, failures :func:`reported`."""
    stream = sys.stderr if err else sys.stdout
    with reported(err):
        stream.write(text if text.endswith("\n") else f"{text}\n")
        stream.flush()


class ReportedStdout:
    """Standard output whose failed writes are :func:`reported`, also where typer writes
    itself (its help, its messages)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        with reported():
            return self._stream.write(text)

    def flush(self) -> None:
        with reported():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def key_values(values: list[str] | None, what: str) -> dict[str, str]:
    """``KEY=VALUE`` options as a mapping (a later key wins); InputError for another form,
    naming the option (``what``)."""
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"{what} must be KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    echo(str(exc.code), err=True)
    return 1


def outcome(command: Callable[[], object]) -> int:
    """Run ``command`` and return its exit code: attestlake errors their own code, with the
    one-line message printed (and the traceback under ``--verbose``); quietly, an interrupt 130
    and a reader of standard output that went away 1. Bugs (any other exception)
    propagate with their traceback."""
    try:
        command()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except Error as exc:
        if state["verbose"]:
            import traceback

            from attestlake.redaction import redact

            echo(redact(traceback.format_exc()), err=True)
        echo(f"error: {exc.diagnostics()}", err=True)
        code = exc.exit_code
    except BrokenPipeError:
        quiet_stdout()
        code = 1
    except KeyboardInterrupt:  # as typer ends a command on Ctrl-C: 128 + SIGINT, quietly
        code = 130
    return code
