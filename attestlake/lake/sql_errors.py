"""SQL error messages as a lake user should read them: about the lake's tables and columns.

DuckDB suggests names when a table, column or function is not found ("Did you mean ...?",
"Candidate bindings: ..."), drawn from everything its catalog holds: its own catalog views and
functions (``duckdb_*``, ``pg_catalog``, ``information_schema``, ``sqlite_master``,
``pragma_*``), and the relations a lake session registers to fix each view's schema
(``_runs_schema``). :func:`public_message` keeps the suggestions a user can act on (for a
missing table: the lake's tables and views only; else columns, the query's own names,
ordinary functions) and leaves the others out; a missing table with no suggestion left gets
the list of the lake's tables instead.
Names are shown without DuckDB's catalog (``memory.runs`` is ``runs``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_INTERNAL = re.compile(
    r"^(?:_|duckdb_|pg_|pragma_|sqlite_|information_schema\b|system\.|temp\.|pg_catalog\.)",
    re.IGNORECASE,
)
_CATALOG = re.compile(r'(?<=")(?:memory\.)(?:main\.)?|(?<=")main\.')
_SUGGESTION = re.compile(r'^Did you mean "([^"]*)"\?\s*$')
_CANDIDATES = re.compile(r"^(Candidate (?:bindings|tables): )(.*)$")
_QUOTED = re.compile(r'"([^"]*)"')
_MISSING_TABLE = re.compile(r"\bTable with name \S+ does not exist")
_VALUES_LIST = re.compile(r'^(Binder Error: )Values list (".*" does not have a column named)')


def internal(name: str) -> bool:
    """True for a name of DuckDB's catalog or of the session's own relations."""
    return bool(_INTERNAL.match(name))


def _candidates(line: str) -> str | None:
    """A ``Candidate ...:`` line with the internal names left out; None if none is left."""
    found = _CANDIDATES.match(line)
    if found is None:
        return line
    kept = [n for n in _QUOTED.findall(found[2]) if not internal(n)]
    return found[1] + ", ".join(f'"{n}"' for n in kept) if kept else None


def public_message(message: str, tables: Sequence[str]) -> str:
    """``message`` (a DuckDB error) with only the suggestions a lake user can use; a missing
    table with none left names ``tables`` (the lake's tables and views)."""
    text = _VALUES_LIST.sub(r"\1Table \2", message)
    missing_table = _MISSING_TABLE.search(text) is not None
    out: list[str] = []
    suggests = False
    for line in text.splitlines():
        if _SUGGESTION.match(line) or _CANDIDATES.match(line):
            line = _CATALOG.sub("", line)
        suggested = _SUGGESTION.match(line)
        if suggested is not None:
            name = suggested[1]
            if name in tables if missing_table else not internal(name):
                out.append(line)
                suggests = True
            continue
        kept = _candidates(line)
        if kept is not None:
            out.append(kept)
    if missing_table and not suggests:
        out.append(f"the lake's tables: {', '.join(tables)}")
    return "\n".join(out)
