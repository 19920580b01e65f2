"""Read a file the user named, with errors that say which file and what kind it should be."""

from __future__ import annotations

from pathlib import Path

from attestlake.errors import InputError


def read_input(
    path: Path, what: str, error: type[InputError] = InputError, *, max_size: int | None = None
) -> bytes:
    """The bytes of ``path`` (a ``what`` file); ``error`` if missing, unreadable or too large."""
    try:
        if max_size is not None and path.stat().st_size > max_size:
            raise error(f"{path}: too large to be a {what} file (over {max_size} bytes)")
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
