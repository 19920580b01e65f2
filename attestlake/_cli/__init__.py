"""The ``attestlake`` command line: a thin layer over the library.

Each command parses its options, calls one library function and renders the result; the
commands live in one module per area (collect, crawling, audit, demo, lake, policy) and
:mod:`attestlake._cli.dispatch` runs them. Asking for help prints a page written ahead from
those commands (:mod:`attestlake._cli.help_pages`) without building the command line, and a
collector step (``attest init|add|status|push|reset``) reads its options without typer
(:mod:`attestlake._cli.step_args`): CI runs ``attestlake attest`` on every build, and help is
where its users start.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``attestlake`` command."""
    from attestlake._cli.help_pages import page_for

    page = page_for(sys.argv[1:])
    if page is not None:
        sys.exit(_write_page(page))
    from attestlake._cli.step_args import run_step

    code = run_step(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from attestlake._cli.dispatch import run

    sys.exit(run())


def _write_page(page: str) -> int:
    """Print a help page; the exit code: 0, or 1 when it cannot be written (a reader that went
    away ends quietly, as typer ends a command; another failure says why in one line)."""
    from attestlake._internal.output import output_failed, quiet_stdout

    try:
        sys.stdout.write(page)
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
        return 1
    except OSError as exc:
        quiet_stdout()
        sys.stderr.write(f"error: {output_failed(exc)}\n")
        return 1
    return 0
