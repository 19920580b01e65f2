"""One option of a collector step, as typer declares it: what
:mod:`attestlake._cli.step_options` holds and :mod:`attestlake._cli.step_args` reads."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Option"]


class Option(NamedTuple):
    """One option of a step, as typer declares it."""

    name: str  # the step function's parameter
    opts: tuple[str, ...]  # "--annotation", "-a"
    off: tuple[str, ...]  # a flag's "--no-..." spelling
    kind: str  # "str", "path" or "flag"
    multiple: bool
    envvar: str | None
    default: str | bool | None  # a path's as text
    required: bool
    checked: bool  # typer checks the value with a callback (one of a few values)
