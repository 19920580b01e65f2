"""The one reader of untrusted archives: gzip'd tar and zip, read in memory, never extracted.

A Helm chart (``.tgz``) or a ZAP report (``.zip``) comes from a CI job. Nothing is written to
disk, so a member named ``../../etc/passwd`` cannot land anywhere; still, such a name, an
absolute one, or a drive letter makes the archive refused as malformed, since no tool that
made a real chart or report writes one. Only regular files are read: links (symbolic or hard),
devices and directories are listed as skipped, never followed. Bounds hold before bytes are
inflated: the member count, each member's size and the total, and for gzip the inflated
stream itself (a gzip bomb stops at the bound, not at the end of memory).
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from attestlake.errors import ContentError

#: Bound on the members one archive lists.
MAX_MEMBERS = 10_000
#: Bound on the inflated bytes of one member read.
MAX_MEMBER_BYTES = 16 * 1024 * 1024
#: Bound on the inflated bytes of the whole archive (the tar stream of a ``.tgz``).
MAX_INFLATED_BYTES = 256 * 1024 * 1024


class MalformedArchive(ContentError, ValueError):
    """Untrusted bytes are not an archive attestlake reads; the message says why."""


@dataclass(frozen=True)
class Archive:
    """What an archive holds: its regular files' names, the bytes of those asked for, and
    the names of members that are not regular files (links, devices, directories)."""

    names: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()


def _check_name(name: str, what: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (name[1:2] == ":" and name[:1].isalpha()):
        raise MalformedArchive(f"{what}: member {name[:200]!r} escapes the archive, refused")
    return name


def _inflate(data: bytes, what: str) -> bytes:
    """A gzip stream inflated, stopping at the bound."""
    stream = gzip.GzipFile(fileobj=io.BytesIO(data))
    try:
        out = stream.read(MAX_INFLATED_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedArchive(f"{what}: not a gzip stream ({exc})") from None
    if len(out) > MAX_INFLATED_BYTES:
        raise MalformedArchive(
            f"{what}: inflates past the {MAX_INFLATED_BYTES}-byte bound, refused"
        )
    return out


def read_tgz(data: bytes, wanted: Callable[[str], bool], *, what: str) -> Archive:
    """The members of the gzip'd tar ``data``, with the bytes of the regular files
    ``wanted`` names; :class:`MalformedArchive` when it is not one or breaks a bound."""
    if not data.startswith(b"\x1f\x8b"):
        raise MalformedArchive(f"{what}: not a gzip'd tar archive (.tgz)")
    inflated = _inflate(data, what)
    try:
        with tarfile.open(fileobj=io.BytesIO(inflated), mode="r:") as tar:
            return _tar_members(tar, wanted, what)
    except tarfile.TarError as exc:
        raise MalformedArchive(f"{what}: not a tar archive, or a damaged one ({exc})") from None


def _tar_members(tar: tarfile.TarFile, wanted: Callable[[str], bool], what: str) -> Archive:
    names: list[str] = []
    skipped: list[str] = []
    files: dict[str, bytes] = {}
    for count, member in enumerate(tar, start=1):
        if count > MAX_MEMBERS:
            raise MalformedArchive(f"{what}: more than {MAX_MEMBERS} members, refused")
        name = _check_name(member.name, what)
        if not member.isreg():
            skipped.append(name)
            continue
        names.append(name)
        if wanted(name):
            files[name] = _tar_member(tar, member, what)
    return Archive(tuple(names), files, tuple(skipped))


def _tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, what: str) -> bytes:
    if member.size > MAX_MEMBER_BYTES:
        raise MalformedArchive(
            f"{what}: member {member.name!r} is {member.size} bytes, over the "
            f"{MAX_MEMBER_BYTES}-byte bound"
        )
    handle = tar.extractfile(member)
    if handle is None:  # not reached for a regular file; a damaged header says so
        raise MalformedArchive(f"{what}: member {member.name!r} cannot be read")
    return handle.read(MAX_MEMBER_BYTES)


def read_zip(data: bytes, wanted: Callable[[str], bool], *, what: str) -> Archive:
    """The members of the zip ``data``, with the bytes of the regular files ``wanted``
    names; :class:`MalformedArchive` when it is not one or breaks a bound."""
    if not data.startswith(b"PK"):
        raise MalformedArchive(f"{what}: not a zip archive")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise MalformedArchive(f"{what}: not a zip archive ({exc})") from None
    if len(infos) > MAX_MEMBERS:
        raise MalformedArchive(f"{what}: more than {MAX_MEMBERS} members, refused")
    if sum(info.file_size for info in infos) > MAX_INFLATED_BYTES:
        raise MalformedArchive(
            f"{what}: inflates past the {MAX_INFLATED_BYTES}-byte bound, refused"
        )
    names: list[str] = []
    skipped: list[str] = []
    files: dict[str, bytes] = {}
    for info in infos:
        name = _check_name(info.filename, what)
        if info.is_dir() or _zip_is_link(info):
            skipped.append(name)
            continue
        names.append(name)
        if wanted(name):
            files[name] = _zip_member(archive, info, what)
    return Archive(tuple(names), files, tuple(skipped))


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    """A member a Unix zip marks as a symbolic link (or any file type but a regular file)."""
    mode = info.external_attr >> 16
    return info.create_system == 3 and mode != 0 and (mode & 0o170000) not in (0, 0o100000)


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise MalformedArchive(
            f"{what}: member {info.filename!r} is {info.file_size} bytes, over the "
            f"{MAX_MEMBER_BYTES}-byte bound"
        )
    try:
        with archive.open(info) as handle:
            out = handle.read(MAX_MEMBER_BYTES + 1)
    except (
        zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, lzma.LZMAError,
        EOFError, OSError,
    ) as exc:  # fmt: skip
        raise MalformedArchive(f"{what}: member {info.filename!r} cannot be read ({exc})") from None
    if len(out) > MAX_MEMBER_BYTES:  # a header that lies about the size
        raise MalformedArchive(
            f"{what}: member {info.filename!r} inflates past the {MAX_MEMBER_BYTES}-byte bound"
        )
    return out
