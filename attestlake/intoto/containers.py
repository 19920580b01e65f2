"""Documents that hold several attestations, each its own document: a PyPI provenance object
(:mod:`attestlake.intoto.pep740`) and an answer of npm's attestations endpoint
(:mod:`attestlake.intoto.npm_attestations`).

:func:`contained_documents` splits one into documents that each hold one attestation, in the
same format (a provenance object of one attestation with its publisher; an answer of one
attestation), so that each is verified, recorded and kept on its own, and read again alone.
Each is named by a JSON pointer (RFC 6901) to the attestation in the whole document.
"""

from __future__ import annotations

import json
from typing import Any

from attestlake._internal.untrusted_json import loads
from attestlake.errors import ContentError
from attestlake.intoto.npm_attestations import is_npm_attestations, npm_attestations
from attestlake.intoto.pep740 import is_provenance_object, provenance_items, single_provenance

#: What a document must contain for :func:`contained_documents` to parse it.
_MARKERS = (b'"attestation_bundles"', b'"attestations"')


def _encoded(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def contained_documents(raw: bytes, max_bytes: int) -> list[tuple[str, bytes]] | None:
    """(JSON pointer, document) for each attestation of a document that holds more than one;
    None for any other document, and for one that cannot be read or split (it is then read
    whole, and its error reported as its outcome)."""
    if not any(marker in raw for marker in _MARKERS):
        return None
    try:
        obj = loads(raw, max_bytes=max_bytes)
        if not isinstance(obj, dict):
            return None
        if is_provenance_object(obj):
            items = provenance_items(obj)
            if len(items) < 2:
                return None
            return [(i.pointer, _encoded(single_provenance(i))) for i in items]
        if is_npm_attestations(obj):
            answers = npm_attestations(obj)
            if len(answers) < 2:
                return None
            return [(a.pointer, _encoded({"attestations": [a.entry]})) for a in answers]
    except ContentError:
        return None
    return None
