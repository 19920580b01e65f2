"""Saved-query files: one ``.sql`` file per audit question, with its metadata in a header.

A saved query is ``queries/NAME.sql``. Its header is the leading SQL comment lines::

    -- title: Non-compliant workflows
    -- description: The latest run of each workflow lacks a material that the newest
    --   revision of its contract requires.
    -- severity: high
    -- finding: project, workflow
    -- requires: contracts
    -- param: since = 1970-01-01 : only runs started on or after this date (YYYY-MM-DD)
    SELECT ... WHERE started_at >= CAST($since AS DATE)

A line that starts with ``--`` and two or more spaces continues the field above it. A
parameter is ``NAME = DEFAULT : DESCRIPTION``, or ``NAME : DESCRIPTION`` when required.
Parameters are read from the SQL itself (``$name`` outside literals and comments): every one
needs a ``param`` line and every ``param`` line must be used. Values are always bound by
DuckDB, never pasted into the SQL. A date parameter also takes a relative duration such as
``30 days`` or ``12 hours`` (:mod:`attestlake._internal.durations`).

``finding`` names the result columns that identify what a finding is about (a workflow:
``project, workflow``; an envelope: ``manifest_digest, envelope_digest``): the query's
findings are the distinct values of those columns, however many rows list each. Without it,
every row is a finding. ``requires`` names the inputs the answer depends on
(:mod:`attestlake.audit.inputs`), checked on the lake before the query runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from attestlake.audit.inputs import INPUTS
from attestlake.errors import QueryError
from attestlake.evidence.materials import MATERIAL_KINDS

SEVERITIES = ("info", "low", "medium", "high", "critical")
HEADER_FIELDS = (
    "title",
    "description",
    "severity",
    "finding",
    "requires",
    "param",
    "gate",
    "reads",
)

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD_RE = re.compile(r"^(?P<key>[a-z_]+):\s*(?P<value>.*)$")
_PARAM_DECL_RE = re.compile(rf"^(?P<name>{_IDENT})\s*(?:=\s*(?P<default>.*))?$")
_IDENT_RE = re.compile(rf"^{_IDENT}$")


def severity_rank(severity: str) -> int:
    """0 for ``info`` up to 4 for ``critical``; QueryError for anything else."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise QueryError(
            f"unknown severity {severity!r}; one of: {', '.join(SEVERITIES)}"
        ) from None


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None  # None: the parameter is required
    description: str

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class SavedQuery:
    name: str
    title: str
    description: str
    severity: str
    params: tuple[Param, ...]
    sql: str
    path: Path
    finding: tuple[str, ...] = ()  # the columns naming a finding; empty: each row is one
    requires: tuple[str, ...] = ()  # inputs the answer depends on (attestlake.audit.inputs)
    #: A policy (``policies/``) that blocks: its violations refuse a gate (``-- gate: true``).
    gate: bool = False
    #: The material kinds a policy reads (``-- reads: SBOM_CYCLONEDX_JSON, SBOM_SPDX_JSON``):
    #: at push, a run with none of them skips the policy, saying so.
    reads: tuple[str, ...] = ()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def sql_parameters(sql: str, source: str = "<sql>") -> list[str]:
    """Names of the ``$name`` parameters in ``sql``, sorted, as DuckDB's own parser reads them
    (literals and comments hold none).

    QueryError for SQL that does not parse, a positional parameter (``$1``, ``?``) or more
    than one statement.
    """
    try:
        statements = _parser().extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"{source}: {str(exc).splitlines()[0]}") from None
    if len(statements) > 1:
        raise QueryError(f"{source}: one statement per saved query (text after ';')")
    names = statements[0].named_parameters if statements else set()
    if any(name.isdigit() for name in names):
        raise QueryError(f"{source}: positional parameter ($1 or ?): use $name")
    return sorted(names)


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    """A connection with no data, used only to parse saved queries."""
    return duckdb.connect(":memory:")


def _header(text: str, source: str) -> tuple[list[tuple[int, str, str]], str]:
    """([(line number, key, value)], SQL body) with continuation lines joined."""
    lines = text.splitlines()
    fields: list[tuple[int, str, str]] = []
    body_start = len(lines)
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped and not fields:
            continue
        if not stripped.startswith("--"):
            body_start = number - 1
            break
        rest = stripped[2:]
        if rest[:2].isspace() and len(rest) >= 2 and rest.strip():
            if not fields:
                raise QueryError(f"{source}:{number}: continuation line before any header field")
            num, key, value = fields[-1]
            fields[-1] = (num, key, f"{value} {rest.strip()}".strip())
            continue
        if not rest.strip():
            continue
        match = _FIELD_RE.match(rest.strip())
        if not match or match["key"] not in HEADER_FIELDS:
            raise QueryError(
                f"{source}:{number}: header lines are '-- FIELD: VALUE' with FIELD one of "
                f"{', '.join(HEADER_FIELDS)}; got {stripped!r}"
            )
        fields.append((number, match["key"], match["value"].strip()))
    return fields, "\n".join(lines[body_start:]).strip()


def _param(number: int, value: str, source: str) -> Param:
    head, sep, description = value.partition(" : ")
    if not sep and value.rstrip().endswith(" :"):
        head, description = value.rstrip()[:-2], ""
    match = _PARAM_DECL_RE.match(head.strip())
    if not match:
        raise QueryError(
            f"{source}:{number}: param: expected 'NAME = DEFAULT : DESCRIPTION' "
            f"or 'NAME : DESCRIPTION', got {value!r}"
        )
    if not description.strip():
        raise QueryError(f"{source}:{number}: param {match['name']}: needs ' : DESCRIPTION'")
    default = match["default"]
    return Param(match["name"], None if default is None else default.strip(), description.strip())


def _names(number: int, key: str, value: str, source: str) -> tuple[str, ...]:
    """The comma-separated names of a ``finding``, ``requires`` or ``reads`` line, each once."""
    names = tuple(n.strip() for n in value.split(","))
    for name in names:
        if key == "requires" and name not in INPUTS:
            raise QueryError(
                f"{source}:{number}: requires: unknown input {name!r}; one of: {', '.join(INPUTS)}"
            )
        if key == "reads" and name not in MATERIAL_KINDS:
            raise QueryError(
                f"{source}:{number}: reads: unknown material kind {name!r}; one of: "
                f"{', '.join(sorted(MATERIAL_KINDS))}"
            )
        if not _IDENT_RE.match(name):
            raise QueryError(
                f"{source}:{number}: {key}: expected column names separated by commas, "
                f"got {value!r}"
            )
    if len(set(names)) != len(names):
        raise QueryError(f"{source}:{number}: {key}: a name is given twice in {value!r}")
    return names


def parse_query(text: str, path: Path) -> SavedQuery:
    """Parse one saved query file's text; QueryError naming the file and the field."""
    source = str(path)
    name = path.stem
    if not _NAME_RE.match(name):
        raise QueryError(f"{source}: query names are lower-case letters, digits, '_' and '-'")
    fields, sql = _header(text, source)
    values: dict[str, str] = {}
    params: list[Param] = []
    lists: dict[str, tuple[str, ...]] = {}
    for number, key, value in fields:
        if key == "param":
            p = _param(number, value, source)
            if any(q.name == p.name for q in params):
                raise QueryError(f"{source}:{number}: param {p.name} is declared twice")
            params.append(p)
        elif key in values:
            raise QueryError(f"{source}:{number}: {key}: given twice")
        elif not value:
            raise QueryError(f"{source}:{number}: {key}: empty")
        elif key in ("finding", "requires", "reads"):
            values[key] = value
            lists[key] = _names(number, key, value, source)
        else:
            values[key] = value
    for key in ("title", "description", "severity"):
        if key not in values:
            raise QueryError(f"{source}: header field '{key}' is missing (add '-- {key}: ...')")
    gate = values.get("gate", "false")
    if gate not in ("true", "false"):
        raise QueryError(f"{source}: gate: expected true or false, got {gate!r}")
    if values["severity"] not in SEVERITIES:
        raise QueryError(
            f"{source}: severity: unknown severity {values['severity']!r}; "
            f"one of: {', '.join(SEVERITIES)}"
        )
    if not sql:
        raise QueryError(f"{source}: no SQL after the header")
    used = sql_parameters(sql, source)
    declared = [p.name for p in params]
    for pname in used:
        if pname not in declared:
            raise QueryError(f"{source}: the SQL uses ${pname} but no '-- param: {pname} ...' line")
    for pname in declared:
        if pname not in used:
            raise QueryError(f"{source}: param {pname} is declared but the SQL never uses ${pname}")
    return SavedQuery(
        name=name,
        title=values["title"],
        description=values["description"],
        severity=values["severity"],
        params=tuple(params),
        sql=sql,
        path=path,
        finding=lists.get("finding", ()),
        requires=lists.get("requires", ()),
        gate=gate == "true",
        reads=lists.get("reads", ()),
    )


def default_directory(kind: str = "queries") -> Path:
    """``queries/`` (or ``policies/``) of a source checkout, else the copy in the wheel."""
    root = Path(__file__).resolve().parent.parent.parent
    if (root / kind).is_dir() and (root / "pyproject.toml").is_file():
        return root / kind
    return Path(__file__).parent.parent / "_data" / kind


def load_query(path: Path) -> SavedQuery:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"{path}: cannot read saved query: {exc}") from None
    return parse_query(text, path)


def _directory(directory: Path | None) -> Path:
    d = directory if directory is not None else default_directory()
    if not d.is_dir():
        raise QueryError(f"{d}: no such saved-query directory")
    return d


def load_queries(directory: Path | None = None) -> list[SavedQuery]:
    """Every saved query in ``directory`` (default: :func:`default_directory`), by name."""
    d = _directory(directory)
    return sorted((load_query(p) for p in d.glob("*.sql") if p.is_file()), key=lambda q: q.name)


def get_query(name: str, directory: Path | None = None) -> SavedQuery:
    """The saved query called ``name``; QueryError listing the known names if none."""
    d = _directory(directory)
    path = d / f"{name}.sql"
    if not _NAME_RE.match(name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in d.glob("*.sql"))) or "none"
        raise QueryError(f"no saved query {name!r} in {d}; known queries: {known}")
    return load_query(path)


# -- the catalogue ---------------------------------------------------------------------------
def query_catalog(queries: Sequence[SavedQuery]) -> pa.Table:
    """One row per saved query: name, severity, title and its parameters with defaults."""
    return pa.table(
        {
            "name": [q.name for q in queries],
            "severity": [q.severity for q in queries],
            "title": [q.title for q in queries],
            "params": [
                ", ".join(p.name if p.required else f"{p.name}={p.default}" for p in q.params)
                for q in queries
            ],
        },
        schema=pa.schema([(n, pa.string()) for n in ("name", "severity", "title", "params")]),
    )


def query_doc(query: SavedQuery) -> str:
    """A saved query's documentation and SQL, as ``attestlake query show`` prints it."""
    out = [
        f"{query.name}: {query.title}",
        f"severity:    {query.severity}",
        f"file:        {query.path}",
        "description: " + query.description,
        "a finding:   "
        + (f"one per distinct {', '.join(query.finding)}" if query.finding else "each row"),
        "requires:    " + (", ".join(query.requires) or "none"),
        "parameters:" + ("" if query.params else " none"),
    ]
    for p in query.params:
        given = "required" if p.required else f"default {p.default!r}"
        out.append(f"  {p.name} ({given}): {p.description}")
    out += ["", query.sql]
    return "\n".join(out) + "\n"
