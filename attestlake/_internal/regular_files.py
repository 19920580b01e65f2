"""Reading files that someone else put there: regular files only, never more than a bound.

A folder to crawl or a path on the command line may hold a FIFO (opening it for reading waits
for a writer, forever), a device such as ``/dev/zero`` behind an innocent ``.json`` symlink
(endless bytes), a socket or a directory. :func:`open_regular` opens without blocking and
refuses anything but a regular file (after symlinks) with :class:`NotRegularFile`, an
:class:`OSError` whose ``strerror`` says what the path is; :func:`read_at_most` never reads more
than the bound asked for, plus one byte to tell that there was more.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """The path is not a regular file (a FIFO, a device, a socket, a directory)."""


def describe(mode: int) -> str:
    """What a file of ``mode`` is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: Path | str) -> BinaryIO:
    """``path`` opened for binary reading, without ever blocking; NotRegularFile when it is
    not a regular file, OSError when it cannot be opened."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise NotRegularFile(21, "is a directory, not a regular file", str(path)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(22, f"is {describe(mode)}, not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def shown(path: Path | str) -> str:
    """``path`` as text that any terminal and the lake can hold: bytes that are not UTF-8 in a
    file name are shown as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def size_of(fh: BinaryIO) -> int:
    """The size of the open regular file ``fh`` now."""
    return os.fstat(fh.fileno()).st_size


def read_at_most(fh: BinaryIO, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``fh``: more than ``limit`` means the file is too big.

    Reads the file's size (plus one byte, to see it grow), so that a small file under a large
    bound never costs a buffer of the bound's size; a file that grew is read on to the bound.
    """
    want = min(limit, size_of(fh)) + 1
    data = fh.read(want)
    if len(data) == want <= limit:  # it grew while being read: read on, still bounded
        data += fh.read(limit + 1 - want)
    return data


__all__ = ["NotRegularFile", "describe", "open_regular", "read_at_most", "shown", "size_of"]
