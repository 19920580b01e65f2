"""Material kinds stored as typed evidence: the file is kept and its kind recorded, and only
what the kind's name promises is checked.

Chainloop names these kinds too; their formats are a vendor API's output (GitHub Advanced
Security alerts, Black Duck, Prisma Cloud twistcli), Chainloop's own documents, or tools'
text and archives. A ``*_JSON`` kind, a GitHub Advanced Security export and a Chainloop
document must be JSON (the attestation records whether it is an object or an array, and how
many entries an array holds); a GraphQL schema must be UTF-8 text; the rest are kept as they
are (``ARTIFACT``, ``EVIDENCE``, Sysinternals and CERT/CC reports, radamsa logs and crashes).
"""

from __future__ import annotations

from typing import Any

from attestlake.errors import MaterialError
from attestlake.evidence.documents import Parser, json_document

#: Kinds whose file must be JSON.
JSON_EVIDENCE_KINDS = (
    *("BLACKDUCK_SCA_JSON", "TWISTCLI_SCAN_JSON"),
    *("GHAS_CODE_SCAN", "GHAS_SECRET_SCAN", "GHAS_DEPENDENCY_SCAN"),
    *("CHAINLOOP_RUNNER_CONTEXT", "CHAINLOOP_PR_INFO"),
    *("CHAINLOOP_AI_AGENT_CONFIG", "CHAINLOOP_AI_CODING_SESSION"),
)
#: Kinds kept exactly as they are.
OPAQUE_KINDS = (
    *("ARTIFACT", "EVIDENCE", "SYSINTERNALS_SIGCHECK", "SYSINTERNALS_ACCESSCHK"),
    *("CERTCC_DRANZER", "RADAMSA_REPORT", "RADAMSA_CRASHES"),
)


def opaque(data: bytes, value: str) -> dict[str, Any]:
    return {}


def json_parser(kind: str) -> Parser:
    """A parser that checks a ``kind`` file is JSON and records its shape."""

    def parse(data: bytes, value: str) -> dict[str, Any]:
        doc = json_document(data, value, kind)
        if isinstance(doc, list):
            return {"format": "JSON", "shape": "array", "entries": len(doc)}
        if isinstance(doc, dict):
            return {"format": "JSON", "shape": "object"}
        raise MaterialError(f"{value}: a {kind} is a JSON object or array")

    return parse


def graphql_schema(data: bytes, value: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MaterialError(
            f"{value}: not UTF-8 text; a GRAPHQL_SPEC is a GraphQL SDL file"
        ) from None
    if not text.strip():
        raise MaterialError(f"{value}: empty; a GRAPHQL_SPEC is a GraphQL SDL file")
    return {"format": "GraphQL"}


TYPED_EVIDENCE_FORMATS: dict[str, tuple[str, Parser]] = {
    **{kind: ("application/octet-stream", opaque) for kind in OPAQUE_KINDS},
    **{kind: ("application/json", json_parser(kind)) for kind in JSON_EVIDENCE_KINDS},
    "GRAPHQL_SPEC": ("application/graphql", graphql_schema),
}
