"""Declarations: the signed statement that makes a published contract or inventory SecOps's.

``attestlake contract push`` and ``inventory push`` sign, with a SecOps key or keyless
identity, an in-toto statement about the exact file they publish: its subject is the file
(``<kind>-<name>.r<N>``, its sha256), its predicate (:data:`PREDICATE_TYPE`) says what it is
(kind, name, revision, publication time). The envelope is the published manifest's second
layer. A crawler trusts the declared state only when the trust policy's ``declared_state``
names the store and a signer verifies the declaration, and the declaration names exactly the
file, kind, name and revision that the manifest carries (:func:`mismatch`): a signed
declaration cannot be moved to another file, name or revision.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE

PREDICATE_TYPE = "https://attestlake.dev/attestation/declared-state/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: Bound on a declaration envelope read from a store.
MAX_DECLARATION_SIZE = 64 * 1024

__all__ = ["INTOTO_PAYLOAD_TYPE", "PREDICATE_TYPE", "declaration", "mismatch"]


def subject_name(kind: str, name: str, revision: int) -> str:
    return f"{kind}-{name}.r{revision}"


def declaration(kind: str, name: str, revision: int, digest: str, created: str) -> bytes:
    """The statement bytes (RFC 8785 canonical JSON) that declare one published revision."""
    statement: dict[str, Any] = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": subject_name(kind, name, revision),
                "digest": {"sha256": digest.removeprefix("sha256:")},
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"kind": kind, "name": name, "revision": revision, "publishedAt": created},
    }
    return bytes(rfc8785.dumps(statement))


def mismatch(
    statement: dict[str, Any] | None, kind: str, name: str, revision: int, digest: str
) -> str | None:
    """Why the verified ``statement`` does not declare this revision (its file ``digest``),
    or None when it does."""
    if statement is None or statement.get("predicateType") != PREDICATE_TYPE:
        found = None if statement is None else statement.get("predicateType")
        return f"the signed statement is not a declaration (predicate type {found!r})"
    predicate = statement.get("predicate")
    subjects = statement.get("subject")
    if not isinstance(predicate, dict) or not isinstance(subjects, list) or len(subjects) != 1:
        return "the declaration has no predicate or not exactly one subject"
    subject: dict[str, Any] = subjects[0] if isinstance(subjects[0], dict) else {}
    found = subject.get("digest")
    claimed: dict[str, Any] = found if isinstance(found, dict) else {}
    wanted = {"kind": kind, "name": name, "revision": revision}
    said = {k: predicate.get(k) for k in wanted}
    if said != wanted or subject.get("name") != subject_name(kind, name, revision):
        return (
            f"the declaration is signed for {said['kind']} {said['name']!r} revision "
            f"{said['revision']}, not {kind} {name!r} revision {revision}"
        )
    if claimed.get("sha256") != digest.removeprefix("sha256:"):
        return (
            f"the declaration is signed for a file with sha256 {str(claimed.get('sha256'))[:16]}…, "
            f"not this file ({digest[:23]}…)"
        )
    return None
