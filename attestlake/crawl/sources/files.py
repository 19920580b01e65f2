"""Files and folders as a source: Sigstore bundles, DSSE envelopes, PEP 740 attestations, npm
attestations, bare in-toto statements and SBOMs, one document per file, one per line in JSON
Lines files, or one per attestation in a PyPI provenance object or npm attestations answer that
holds several (:mod:`attestlake.intoto.containers`).

A folder is walked in name order (hidden entries and symlinked folders skipped) for files
ending in one of :data:`DOCUMENT_SUFFIXES`; a file named directly is always read. Files ending
in ``.jsonl``/``.ndjson`` hold one document per line (blank lines skipped). A unit is one
document; its key is the sha256 of the document's bytes (a line without its line break), so a
document seen again, in any file, is not ingested twice. Its ``source`` is the file path, with
``:N`` (the 1-based line number) for a JSON Lines document, or ``#<JSON pointer>`` for one
attestation of several (bytes of a file name that are not UTF-8 shown as ``\\xNN``).

Only regular files are read (after symlinks): a FIFO, a device (a ``.json`` symlink to
``/dev/zero``), a socket or a directory is skipped with a warning, never opened in a way that
could block or read without end. A document's size is checked before it is read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from attestlake._internal.regular_files import open_regular, read_at_most, shown, size_of
from attestlake.crawl.sources.interface import MAX_DOCUMENT_SIZE, Candidate, Document, Source, Unit
from attestlake.intoto.containers import contained_documents

DOCUMENT_SUFFIXES = (
    ".json",
    ".jsonl",
    ".ndjson",
    ".sigstore",
    ".dsse",
    ".intoto",
    ".bundle",
    ".link",  # in-toto links: <step>.<keyid prefix>.link
    ".attestation",  # PEP 740 attestation objects: <distribution>.publish.attestation
    ".provenance",  # PyPI provenance objects: <distribution>.provenance
)
LINE_SUFFIXES = (".jsonl", ".ndjson")
_CHUNK = 1024 * 1024


def _unit(key: str, source: str, raw: bytes | None, error: str | None = None) -> Candidate:
    unit = Unit(key, source, (Document(key, raw, error),))
    return Candidate(key, source, lambda: unit)


class FileSource(Source):
    def __init__(self, path: Path, *, max_document_size: int = MAX_DOCUMENT_SIZE) -> None:
        self.path = path
        self.ref = str(path)
        self.max_document_size = max_document_size
        self._warnings: list[str] = []

    def warnings(self) -> list[str]:
        return list(self._warnings)

    def why_empty(self) -> str:
        if not self.path.exists():
            return "no such file or folder"
        if self.path.is_dir():
            return f"no file ending in {', '.join(DOCUMENT_SUFFIXES)} in the folder"
        return "no document in the file"

    def files(self) -> Iterator[Path]:
        if not self.path.is_dir():
            yield self.path
            return
        for root, dirs, names in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if not name.startswith(".") and name.lower().endswith(DOCUMENT_SUFFIXES):
                    yield Path(root) / name

    def candidates(self) -> Iterator[Candidate]:
        for path in self.files():
            try:
                with open_regular(path) as fh:
                    if path.name.lower().endswith(LINE_SUFFIXES):
                        yield from self._lines(path, fh)
                    else:
                        yield from self._whole(path, fh)
            except OSError as exc:
                self._warnings.append(f"{shown(path)}: cannot read: {exc.strerror or exc}")

    def _too_big(self, size: int) -> str:
        return f"document is {size} bytes, over the {self.max_document_size}-byte bound"

    def _whole(self, path: Path, fh: BinaryIO) -> Iterator[Candidate]:
        limit, size = self.max_document_size, size_of(fh)
        data = read_at_most(fh, limit) if size <= limit else b""
        if len(data) <= limit and size <= limit:
            parts = contained_documents(data, limit)
            if parts is None:
                yield _unit("sha256:" + hashlib.sha256(data).hexdigest(), shown(path), data)
            for pointer, part in parts or ():
                source = f"{shown(path)}#{pointer}"
                yield _unit("sha256:" + hashlib.sha256(part).hexdigest(), source, part)
            return
        digest, read = hashlib.sha256(data), len(data)  # the key: the sha256 of the whole file
        while read < size and (chunk := fh.read(min(_CHUNK, size - read))):
            digest.update(chunk)
            read += len(chunk)
        too_big = self._too_big(max(size, read))
        yield _unit("sha256:" + digest.hexdigest(), shown(path), None, too_big)

    def _lines(self, path: Path, fh: BinaryIO) -> Iterator[Candidate]:
        limit = self.max_document_size
        number = 0
        while line := fh.readline(limit + 1):
            number += 1
            source = f"{shown(path)}:{number}"
            if len(line) > limit and not line.endswith(b"\n"):  # over the bound: hash the rest
                digest, size = hashlib.sha256(line), len(line)
                while line and not line.endswith(b"\n"):
                    line = fh.readline(_CHUNK)
                    digest.update(line)
                    size += len(line)
                yield _unit("sha256:" + digest.hexdigest(), source, None, self._too_big(size))
                continue
            doc = line.rstrip(b"\r\n")
            if doc.strip():
                yield _unit("sha256:" + hashlib.sha256(doc).hexdigest(), source, doc)
