"""Policies as SQL: what the materials of a run must say, checked across the lake.

A policy is a ``.sql`` file with a saved query's header (title, description, severity,
parameters, ``finding``) and ``-- gate: true`` when its violations block a deploy
(``attestlake gate``). It returns one row per violation, with the run it is about (``run_id``,
``project``, ``workflow``) and a ``violation`` sentence. The library ships in ``policies/``
(docs/policies.md); a policy is named by its name there or by a path to a file of one's own.

:func:`evaluate` runs policies over a lake, optionally for some runs only (the gate's), so
SecOps sees who would fail a new policy before it is enforced (``attestlake policy eval``).
It judges each successful run as ``attest push`` does: a policy that reads material kinds
(``-- reads:``) none of which a run has is skipped for that run (:func:`skips`, from the kinds
``sql/run_kinds.sql`` finds), and the rows it returned about that run are dropped; the others
passed or violated it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from attestlake._internal._files import read_input
from attestlake.audit.queries import run_query
from attestlake.audit.query_files import (
    SavedQuery,
    default_directory,
    load_queries,
    load_query,
    parse_query,
)
from attestlake.errors import QueryError
from attestlake.lake.lake import Lake

#: The columns every policy's answer has.
REQUIRED_COLUMNS = ("run_id", "project", "workflow", "violation")
#: A policy file larger than this is refused.
MAX_POLICY_SIZE = 256 * 1024
#: What the SLSA_PROVENANCE kind of ``-- reads:`` stands for: the run's SLSA provenance.
PROVENANCE = "SLSA_PROVENANCE"
_KINDS_SQL = Path(__file__).with_name("sql") / "run_kinds.sql"


def policy_directory() -> Path:
    """The library: ``policies/`` of a source checkout, else the copy in the wheel."""
    return default_directory("policies")


def library() -> list[SavedQuery]:
    """Every policy of the library, by name."""
    return load_queries(policy_directory())


def by_default(policy: SavedQuery) -> bool:
    """Whether ``policy`` runs unasked (``policy eval`` without ``--policy``, and, when it
    gates, every ``attestlake gate``): it needs no parameter only the organisation can give
    (``images_from_allowed_registries`` needs its registries)."""
    return not any(p.required for p in policy.params)


def read_policy(path: Path) -> tuple[SavedQuery, bytes]:
    """The policy in the file at ``path`` and its exact bytes; QueryError naming the file when
    it is unreadable, too large, not UTF-8 or not a policy (its header, its parameters)."""
    raw = read_input(path, "policy", QueryError, max_size=MAX_POLICY_SIZE)
    return parse_policy(raw, path), raw


def parse_policy(raw: bytes, path: Path) -> SavedQuery:
    """The policy ``raw`` holds (named after ``path``); QueryError when it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryError(f"{path} is not UTF-8 text") from None
    return parse_query(text, path)


def load_policies(names: Sequence[str]) -> list[SavedQuery]:
    """The policies ``names`` give: library names, or paths to ``.sql`` files; QueryError
    naming the library's policies for an unknown one."""
    known = {p.name: p for p in library()}
    chosen: list[SavedQuery] = []
    for name in dict.fromkeys(names):
        if name in known:
            chosen.append(known[name])
        elif name.endswith(".sql") and Path(name).is_file():
            chosen.append(load_query(Path(name)))
        else:
            raise QueryError(
                f"no policy {name!r}: a policy of the library ({', '.join(sorted(known))}) "
                "or a path to a .sql file"
            )
    return chosen


def run_kinds(lake: Lake) -> dict[str, frozenset[str]]:
    """Each successful run of ``lake`` (by run id) with the material kinds it has, as
    ``-- reads:`` names them (``sql/run_kinds.sql``)."""
    rows = lake.sql(_KINDS_SQL.read_text()).to_pylist()
    return {r["run_id"]: frozenset(r["kinds"] or ()) for r in rows}


def skips(policy: SavedQuery, kinds: Iterable[str]) -> bool:
    """Whether ``policy`` is skipped for a run with material ``kinds``: it reads kinds, and
    the run has none of them."""
    return bool(policy.reads) and not set(policy.reads).intersection(kinds)


def skipped_reason(reads: Sequence[str]) -> str:
    """Why a policy that reads ``reads`` was skipped for a run."""
    kinds = [k for k in reads if k != PROVENANCE]
    parts = [f"no {' or '.join(kinds)} material"] if kinds else []
    if PROVENANCE in reads:
        parts.append("no SLSA provenance (the run has no outputs, or was pushed --no-provenance)")
    return "the run has " + ", and ".join(parts)


@dataclass(frozen=True)
class PolicyResult:
    """One policy's violations (rows), the parameters it ran with, and the successful runs
    it judged (``judged``), of which those it was skipped for (``skipped``)."""

    policy: SavedQuery
    params: Mapping[str, str]
    table: pa.Table
    judged: frozenset[str] = frozenset()
    skipped: frozenset[str] = frozenset()

    @property
    def violations(self) -> int:
        return int(self.table.num_rows)

    def runs(self) -> set[str]:
        """The runs with a violation."""
        return {r for r in self.table.column("run_id").to_pylist() if r is not None}

    def passed(self) -> set[str]:
        """The judged runs it was evaluated for that have no violation."""
        return set(self.judged - self.skipped) - self.runs()

    def statuses(self) -> dict[str, str]:
        """Each judged run's status, as ``attest push`` records it: ``passed``, ``violated``
        or ``skipped`` (a violating run that was not judged, such as a failed one, too)."""
        out = dict.fromkeys(self.passed(), "passed")
        out.update(dict.fromkeys(self.skipped, "skipped"))
        out.update(dict.fromkeys(self.runs(), "violated"))
        return out

    def sentences(self) -> list[str]:
        """Each violation as ``run RUN of PROJECT/WORKFLOW: VIOLATION``."""
        return [
            f"run {row['run_id']} of {row['project']}/{row['workflow']}: {row['violation']}"
            for row in self.table.select(list(REQUIRED_COLUMNS)).to_pylist()
        ]


def _one_select(policy: SavedQuery) -> None:
    """QueryError unless ``policy`` is one SELECT statement (WITH, FROM and VALUES forms
    included): a policy only answers, and never leaves a temporary view or macro behind that
    would change what the policies after it, or the gate, read in the same session."""
    try:
        statements = duckdb.extract_statements(policy.sql)
    except duckdb.Error as exc:
        raise QueryError(f"policy {policy.name} ({policy.path}): SQL error: {exc}") from None
    except ValueError:  # a statement type the duckdb module has no name for
        statements = []
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        found = (
            f"{len(statements)} statements"
            if len(statements) != 1
            else f"a {statements[0].type.name} statement"
        )
        raise QueryError(
            f"policy {policy.name} ({policy.path}): a policy is one SELECT statement (it may "
            f"start with WITH), never a write or a definition; this is {found}, and nothing ran"
        )


def evaluate(
    lake: Lake,
    policies: Iterable[SavedQuery],
    params: Mapping[str, Mapping[str, str]] | None = None,
    runs: set[str] | None = None,
    kinds: Mapping[str, frozenset[str]] | None = None,
) -> list[PolicyResult]:
    """Run each policy over ``lake`` (``params``: by policy name), judging its successful
    runs (see the module doc); with ``runs``, only those run ids. ``kinds``: the lake's
    :func:`run_kinds`, when the caller has them already."""
    kinds = run_kinds(lake) if kinds is None else kinds
    if runs is not None:
        kinds = {run: found for run, found in kinds.items() if run in runs}
    results = []
    for policy in policies:
        _one_select(policy)
        given = dict((params or {}).get(policy.name, {}))
        answer = run_query(lake, policy, given)
        missing = [c for c in REQUIRED_COLUMNS if c not in answer.table.column_names]
        if missing:
            raise QueryError(
                f"policy {policy.name} ({policy.path}): its answer lacks column(s) "
                f"{', '.join(missing)}; a policy returns {', '.join(REQUIRED_COLUMNS)}"
            )
        table = answer.table
        if runs is not None:
            table = table.filter(pc.is_in(table["run_id"], pa.array(sorted(runs), pa.string())))
        skipped = frozenset(run for run, found in kinds.items() if skips(policy, found))
        if skipped:
            dropped = pc.is_in(table["run_id"], pa.array(sorted(skipped), pa.string()))
            table = table.filter(pc.invert(dropped))
        results.append(PolicyResult(policy, answer.params, table, frozenset(kinds), skipped))
    return results
