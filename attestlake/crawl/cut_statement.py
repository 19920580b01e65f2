"""A signed document kept without its statement: the bytes ``blobs`` need not hold twice.

A DSSE envelope (plain, or inside a Sigstore bundle) carries its in-toto statement as the
base64 text of the statement's bytes, and ``attestations.statement`` holds those very bytes as
text. :func:`cut` takes that base64 text out of the document and says where it was; the
document is kept as the rest (``blobs.content``) and the place (``blobs.statement_at``).
:func:`put_back` makes the document again from the rest and a statement, and gives it only if
its sha256 is the document's digest: a statement that was changed in the lake, or a cut
place that moved, gives no document rather than other bytes. A document whose statement is
not found as standard base64 with padding (URL-safe base64, escaped characters, a payload
that is not UTF-8) is not cut: it is kept whole.
"""

from __future__ import annotations

import base64

from attestlake.store import sha256_digest

__all__ = ["cut", "put_back"]


def _encoded(statement: str) -> bytes:
    return base64.b64encode(statement.encode("utf-8"))


def cut(raw: bytes, statement: str) -> tuple[bytes, int] | None:
    """``raw`` without the base64 text of ``statement`` (a JSON string's whole value), and
    the offset it was cut at; None when ``raw`` holds no such string."""
    encoded = _encoded(statement)
    quoted = raw.find(b'"' + encoded + b'"')
    if quoted < 0:
        return None
    at = quoted + 1
    return raw[:at] + raw[at + len(encoded) :], at


def put_back(rest: bytes, at: int, statement: str | None, digest: str) -> bytes | None:
    """The document whose statement was cut from ``rest`` at ``at``, with ``statement`` put
    back, if its sha256 is ``digest``; None otherwise (another statement, no statement, or
    ``at`` outside ``rest``)."""
    if statement is None or not 0 < at < len(rest):
        return None
    raw = rest[:at] + _encoded(statement) + rest[at:]
    return raw if sha256_digest(raw) == digest else None
