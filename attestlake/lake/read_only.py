"""Which SQL statements a lake session runs: those that only read.

DuckDB's own parser splits the text into statements and its scanner splits a statement into
words: SELECT, an EXPLAIN of one, and temporary views and macros run; every other statement is
refused before any statement of the text runs (:func:`refuse_writes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from attestlake.errors import LakeError

READ_ONLY = "the lake is read-only in SQL sessions"
READ_STATEMENTS = (
    "SELECT (also FROM, WITH, VALUES, DESCRIBE, SHOW, SUMMARIZE), EXPLAIN and CREATE TEMP "
    "VIEW or MACRO"
)


def _words(text: str) -> list[tuple[int, str]]:
    """The tokens of ``text`` as DuckDB's own scanner splits them (so comments nest as they
    do for its parser), comments left out: each token's offset and text."""
    tokens = duckdb.tokenize(text)
    words: list[tuple[int, str]] = []
    for i, (start, kind) in enumerate(tokens):
        if kind == duckdb.token_type.comment:
            continue
        end = tokens[i + 1][0] if i + 1 < len(tokens) else len(text)
        words.append((start, text[start:end].strip()))
    return words


def _spelled(words: Sequence[tuple[int, str]], at: int, *options: str) -> bool:
    return at < len(words) and words[at][1].upper() in options


def _temporary(words: Sequence[tuple[int, str]]) -> bool:
    """True for a temporary view or macro (a name for a query, kept in the session's
    memory): CREATE [OR REPLACE] TEMP[ORARY] VIEW|MACRO|FUNCTION."""
    at = 1  # CREATE
    if _spelled(words, at, "OR") and _spelled(words, at + 1, "REPLACE"):
        at += 2
    return _spelled(words, at, "TEMP", "TEMPORARY") and _spelled(
        words, at + 1, "VIEW", "MACRO", "FUNCTION"
    )


def _explained(words: Sequence[tuple[int, str]]) -> int | None:
    """Where the statement an EXPLAIN explains starts (after ANALYZE and an option list);
    None if that cannot be told."""
    at = 1  # EXPLAIN
    if _spelled(words, at, "ANALYZE", "ANALYSE"):
        at += 1
    if _spelled(words, at, "("):  # the option list: (ANALYZE, FORMAT json)
        depth = 0
        while True:
            depth += {"(": 1, ")": -1}.get(words[at][1], 0)
            at += 1
            if depth == 0:
                break
            if at >= len(words):
                return None
    return words[at][0] if at < len(words) else None


def _kind(statement: Any) -> str:
    try:
        return str(statement.type.name)
    except ValueError:  # a statement type the duckdb module itself has no name for
        return "this statement"


def _reads_only(con: duckdb.DuckDBPyConnection, statement: Any) -> bool:
    try:
        kind = statement.type
    except ValueError:
        return False
    if kind == duckdb.StatementType.SELECT:
        return True
    if kind not in (duckdb.StatementType.CREATE, duckdb.StatementType.EXPLAIN):
        return False
    text = statement.query
    try:
        words = _words(text)
    except (duckdb.Error, ValueError):
        return False
    if kind == duckdb.StatementType.CREATE:
        return _spelled(words, 0, "CREATE") and _temporary(words)
    # EXPLAIN ANALYZE runs the statement it explains, so that one must read.
    start = _explained(words) if _spelled(words, 0, "EXPLAIN") else None
    if start is None:
        return False
    try:
        inner = con.extract_statements(text[start:])
    except (duckdb.Error, ValueError):
        return False
    return len(inner) == 1 and _kind(inner[0]) == "SELECT"


def refuse_writes(con: duckdb.DuckDBPyConnection, text: str) -> None:
    """LakeError unless every statement of ``text`` only reads: SELECT, EXPLAIN of one, or a
    temporary view or macro (kept in the session's memory).

    COPY, EXPORT, ATTACH, CREATE, INSERT, SET, PRAGMA, INSTALL, LOAD, CALL, PREPARE and every
    other statement are refused before any statement of ``text`` runs.
    """
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        raise LakeError(f"SQL error: {exc}") from None
    except ValueError:  # a statement type the duckdb module itself has no name for
        raise LakeError(
            f"{READ_ONLY}: only {READ_STATEMENTS} statements run, and this one is not one"
        ) from None
    for statement in statements:
        if not _reads_only(con, statement):
            shown = " ".join(statement.query.split())
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            kind = _kind(statement)
            raise LakeError(
                f"{READ_ONLY}: {kind} is refused ({shown}); only {READ_STATEMENTS} "
                "statements run, and nothing was run"
            )
