"""Read a file the user named, with errors that say which file and what kind it should be."""

from __future__ import annotations

from pathlib import Path

from attestlake._internal.regular_files import open_regular, read_at_most, size_of
from attestlake.errors import InputError


def read_input(
    path: Path, what: str, error: type[InputError] = InputError, *, max_size: int | None = None
) -> bytes:
    """The bytes of ``path`` (a ``what`` file); ``error`` if missing, unreadable, not a regular
    file (a FIFO or device is never read) or too large."""
    too_large = f"{path}: too large to be a {what} file (over {max_size} bytes)"
    try:
        with open_regular(path) as fh:
            if max_size is None:
                return fh.read()
            if size_of(fh) > max_size:
                raise error(too_large)
            data = read_at_most(fh, max_size)
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > max_size:  # it grew while being read
        raise error(too_large)
    return data
