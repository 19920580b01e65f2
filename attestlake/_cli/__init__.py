"""The ``attestlake`` command line: a thin layer over the library.

Each command parses its options, calls one library function and renders the result; the
commands live in one module per area (collect, crawling, audit, demo, lake, policy) and
:mod:`attestlake._cli.dispatch` runs them. Asking for help prints a page written ahead from
those commands (:mod:`attestlake._cli.help_pages`) without building the command line: CI runs
``attestlake attest`` on every build, and help is where its users start.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``attestlake`` command."""
    from attestlake._cli.help_pages import page_for

    page = page_for(sys.argv[1:])
    if page is not None:
        sys.stdout.write(page)
        sys.exit(0)
    from attestlake._cli.dispatch import run

    sys.exit(run())
