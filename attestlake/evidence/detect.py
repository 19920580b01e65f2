"""What a material value names, for ``attest add`` without ``--name`` or ``--kind``.

A value is a file, an image reference or a string, and the collector only records what it
can check: an existing regular file is read and its kind sniffed from the content; an image
reference is resolved to its digest through the registry; a value that looks like a path
(a path separator, or a file name ending such as ``.json`` or ``.tar.gz``) but names no
readable file, a directory, or an image reference that cannot be resolved is refused, never
recorded as a string. Only what looks like neither (``v1.2.3``, ``release candidate 7``, a
URL) is a ``STRING``; ``--kind STRING`` says a string is meant whatever it looks like.
"""

from __future__ import annotations

import errno
import os
import stat

from attestlake.errors import MaterialError
from attestlake.evidence.material_formats import sniff
from attestlake.evidence.materials import read_file
from attestlake.store.images import DOCKER_HUB, parse_image

#: File name endings that make a value a file name (compared case-insensitively).
FILE_SUFFIXES = (
    *(".json", ".jsonl", ".ndjson", ".xml", ".sarif", ".yaml", ".yml", ".toml", ".txt"),
    *(".md", ".html", ".htm", ".pdf", ".csv", ".log", ".out", ".spdx", ".cdx", ".vex"),
    *(".intoto", ".dsse", ".bundle", ".sig", ".pem", ".pub", ".crt", ".cer", ".key"),
    *(".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst", ".zip", ".7z", ".jar", ".war", ".ear"),
    *(".whl", ".egg", ".gem", ".nupkg", ".deb", ".rpm", ".apk", ".exe", ".msi", ".dmg"),
    *(".iso", ".img", ".bin", ".so", ".dll", ".dylib", ".wasm", ".sh", ".py", ".js"),
)
_STRING_HINT = "give --kind STRING if the text itself is meant"
#: stat() errors that mean "no file by that name" rather than "a file we may not read".
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP})


def looks_like_path(value: str) -> bool:
    """True if ``value`` has a path separator or ends like a file name."""
    return "/" in value or os.sep in value or value.lower().endswith(FILE_SUFFIXES)


def looks_like_image(value: str) -> bool:
    """True if ``value`` is an image reference that says so: with a digest, a tag, or an
    explicit registry host (``ghcr.io/org/app``, ``localhost:5000/app``)."""
    image = parse_image(value)
    if image is None:
        return False
    explicit_host = image.registry != DOCKER_HUB or value.startswith(f"{DOCKER_HUB}/")
    return bool(image.digest or image.tag or explicit_host)


def _stat(value: str) -> os.stat_result | None:
    """The file ``value`` names (following links), or None if there is none."""
    try:
        return os.stat(value)
    except ValueError:  # an embedded NUL: no file can have that name
        return None
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        raise MaterialError(f"{value}: cannot read: {exc.strerror or exc}") from None


def detect_kind(value: str) -> str:
    """The kind ``value`` names; :class:`MaterialError` if it looks like a file or an image
    but is not one that can be read.

    An existing regular file is sniffed by content (SBOMs, SARIF, OpenVEX, JUnit, signed
    provenance, and the reports :mod:`attestlake.evidence.kind_sniffing` tells; ``ARTIFACT``
    otherwise); an image reference is ``CONTAINER_IMAGE`` (resolved
    when it is added); a URL or a value that looks like neither is ``STRING``.
    """
    found = _stat(value) if value else None
    if found is not None:
        if stat.S_ISDIR(found.st_mode):
            raise MaterialError(
                f"{value}: a directory, not a file: add the files it holds, or an archive of "
                f"it (tar), one by one; {_STRING_HINT}"
            )
        if not stat.S_ISREG(found.st_mode):
            raise MaterialError(f"{value}: not a regular file; {_STRING_HINT}")
        return sniff(read_file(value))
    if "://" in value:
        return "STRING"
    if value.lower().endswith(FILE_SUFFIXES) or not looks_like_image(value):
        if looks_like_path(value):
            raise MaterialError(
                f"{value}: no such file (a value with a path separator or a file name ending "
                f"is read as a file); {_STRING_HINT}"
            )
        return "STRING"
    return "CONTAINER_IMAGE"
