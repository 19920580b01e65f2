"""A document without its statement's base64 text, and the document made again from it
only with the statement that hashes to its digest."""

from __future__ import annotations

import base64
import json

from attestlake.crawl.cut_statement import cut, put_back
from attestlake.store import sha256_digest

STATEMENT = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicate": {"a": "é"}})


def _envelope(payload: str, *, spaces: bool = False) -> bytes:
    separators = (", ", ": ") if spaces else (",", ":")
    doc = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": payload,
        "signatures": [{"keyid": "k", "sig": "c2ln"}],
    }
    return json.dumps(doc, separators=separators).encode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_document_is_made_again_byte_for_byte() -> None:
    for raw in (_envelope(_b64(STATEMENT)), _envelope(_b64(STATEMENT), spaces=True)):
        rest, at = cut(raw, STATEMENT) or (b"", 0)
        assert b'"payload":""' in rest.replace(b" ", b"")
        assert len(rest) == len(raw) - len(_b64(STATEMENT))
        assert put_back(rest, at, STATEMENT, sha256_digest(raw)) == raw


def test_another_statement_or_place_gives_no_document() -> None:
    raw = _envelope(_b64(STATEMENT))
    rest, at = cut(raw, STATEMENT) or (b"", 0)
    other = STATEMENT.replace('"a"', '"b"')
    digest = sha256_digest(raw)
    assert put_back(rest, at, STATEMENT, digest) == raw
    assert put_back(rest, at, other, digest) is None
    assert put_back(rest, at + 1, STATEMENT, digest) is None
    assert put_back(rest, 0, STATEMENT, digest) is None
    assert put_back(rest, len(rest), STATEMENT, digest) is None
    assert put_back(rest, at, None, digest) is None


def test_a_statement_not_written_as_standard_base64_is_not_cut() -> None:
    odd = STATEMENT
    while "/" not in _b64(odd):
        odd += "?"
    url_safe = base64.urlsafe_b64encode(odd.encode()).decode()
    assert cut(_envelope(url_safe), odd) is None
    assert cut(_envelope(_b64(odd)), odd) is not None
    padded = STATEMENT + " " * (len(STATEMENT.encode()) % 3 == 0)
    assert _b64(padded).endswith("=")
    assert cut(_envelope(_b64(padded).rstrip("=")), padded) is None
    assert cut(_envelope(_b64(STATEMENT)), STATEMENT + " ") is None
