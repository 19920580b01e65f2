"""The in-toto-attestation bindings as an outside reader of attestlake's statements."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement


def in_toto_statement(statement: dict[str, Any]) -> Statement:
    """The statement through the in-toto-attestation bindings: strict parse (an unknown field
    raises), then the bindings' own validation."""
    pb = json_format.ParseDict(statement, statement_pb2.Statement())
    parsed = Statement.copy_from_pb(pb)
    parsed.validate()
    return parsed
