"""Write a file all at once: a temporary file beside it, then a rename.

A reader (or a CI step uploading the file) sees the old file or the new one, never half of
the new one; if writing fails, the temporary file is removed and the old file is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from attestlake.errors import InputError


def replace_file(path: Path, raw: bytes, *, mode: int | None = None) -> None:
    """Write ``raw`` to ``path`` through a temporary file and a rename; OSError on failure.

    ``mode`` sets the new file's permissions (default: the temporary file's 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path``, creating its directory; InputError on failure.

    The new file keeps the old file's mode, or gets 0644.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644
        replace_file(path, raw, mode=mode)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
