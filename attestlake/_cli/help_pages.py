"""Help without building the command line.

``attestlake --help``, ``attestlake attest --help`` and every other ``COMMAND --help`` print a
page written ahead into :mod:`attestlake._cli.help_text` from typer's own rendering, so that
asking for help costs a Python start-up and one small module instead of importing typer and
reading every command's signature (CI runs the collector on every build). A page is used only
where typer would print the same text: the arguments are exactly command names then
``--help``, and the terminal is at least 80 columns wide (typer wraps help at
``min(columns, 80) - 2``); anything else goes to typer.

After changing a command, its options or its docstring, write the pages again with
``python -m attestlake._cli.help_pages`` (it also writes the collector steps' options,
:mod:`attestlake._cli.step_options`); ``tests/unit/test_help_pages.py`` fails while a page
differs from typer's, ``tests/unit/test_step_args.py`` while an option does.
"""

from __future__ import annotations

import os
import sys

#: Terminal columns from which typer's help is the same text (``min(columns, 80) - 2``).
WIDE = 80


def columns() -> int:
    """The terminal's columns as :func:`shutil.get_terminal_size` gives them to typer:
    ``$COLUMNS``, else the terminal on stdout, else 80 (importing :mod:`shutil` costs more
    than the rest of printing a page)."""
    try:
        wide = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        wide = 0
    if wide > 0:
        return wide
    try:
        wide = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        wide = 0
    return wide or WIDE


def page_for(args: list[str]) -> str | None:
    """The text ``attestlake ARGS`` prints, when it is help or the version written ahead;
    ``None`` when typer must run the command."""
    if args == ["--version"]:
        from attestlake._internal.version import version_line

        return version_line()
    if not args or args[-1] != "--help" or columns() < WIDE:
        return None
    from attestlake._cli.help_text import PAGES

    return PAGES.get(tuple(args[:-1]))


def render_pages() -> dict[tuple[str, ...], str]:
    """Every command's and group's ``--help`` as typer prints it, 80 columns wide, keyed by
    the command names that lead to it (``()`` for ``attestlake --help``)."""
    import contextlib
    import io
    from unittest import mock

    from attestlake._cli.dispatch import command, run

    def paths(group: object, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        found = [prefix]
        for name, sub in sorted(getattr(group, "commands", {}).items()):
            found.extend(paths(sub, (*prefix, name)))
        return found

    pages = {}
    with mock.patch.dict(os.environ, {"COLUMNS": str(WIDE)}):
        for path in paths(command(), ()):
            with contextlib.redirect_stdout(io.StringIO()) as out:
                code = run([*path, "--help"])
            if code != 0:
                raise RuntimeError(f"attestlake {' '.join(path)} --help exited {code}")
            pages[path] = out.getvalue()
    return pages


def module_text(pages: dict[tuple[str, ...], str]) -> str:
    """The source of :mod:`attestlake._cli.help_text` holding ``pages``."""
    lines = [
        '"""Every command\'s ``--help`` page as typer prints it 80 columns wide. Written by',
        "``python -m attestlake._cli.help_pages`` (do not edit): see "
        ":mod:`attestlake._cli.help_pages`.",
        '"""',
        "",
        "PAGES: dict[tuple[str, ...], str] = {",
    ]
    lines += [f"    {path!r}: {text!r}," for path, text in pages.items()]
    lines += ["}", ""]
    return "\n".join(lines)


def main() -> None:
    """Write :mod:`attestlake._cli.help_text` and :mod:`attestlake._cli.step_options` from
    the commands as they are now."""
    from pathlib import Path

    from attestlake._cli import step_args
    from attestlake._cli.dispatch import command
    from attestlake._internal._atomic import write_atomic

    steps = step_args.declared(command().commands["attest"])  # type: ignore[attr-defined]
    for name, text in (
        ("help_text.py", module_text(render_pages())),
        ("step_options.py", step_args.module_text(steps)),
    ):
        target = Path(__file__).with_name(name)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            sys.stdout.write(f"{target}: current\n")
            continue
        write_atomic(target, text)
        sys.stdout.write(f"{target}: written\n")


if __name__ == "__main__":
    main()
