"""Findings counted as a person counts them: one per entity, not one per row.

A saved query declares what a finding is about with ``-- finding: COLUMNS`` (a workflow:
``project, workflow``; an envelope: ``manifest_digest, envelope_digest``; an image:
``image_digest``). Its findings are the distinct values of those columns in its rows: an
SBOM generator that leaves out hashes is one finding listing its components, not one per
component. A query that declares none counts every row.

Across queries, an :class:`Entity` is the declared column names with their values, so two
queries that name the same columns report the same entity: the impersonated envelope is both
an impersonation and a verification failure, and one critical finding. A NULL is a value
like any other (two rows differing only by a NULL and a value are two findings).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from attestlake.errors import QueryError


@dataclass(frozen=True)
class Entity:
    """What one finding is about: the identifying columns and their values (as JSON text),
    or, for a query that counts rows, the query and the row's position."""

    columns: tuple[str, ...]
    values: tuple[str, ...]


def _text(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def check_finding(name: str, finding: Sequence[str], table: pa.Table) -> None:
    """QueryError when ``finding`` (query ``name``'s) names a column its answer ``table``
    does not have."""
    absent = [c for c in finding if c not in table.column_names]
    if absent:
        raise QueryError(
            f"query {name}: 'finding: {', '.join(finding)}' names column(s) "
            f"{', '.join(absent)} that its answer does not have; its columns: "
            f"{', '.join(table.column_names)}"
        )


def entities(name: str, finding: Sequence[str], table: pa.Table) -> list[Entity]:
    """One :class:`Entity` per row of ``table`` (the answer of query ``name``), in row
    order; rows about the same entity give equal ones.

    QueryError when ``finding`` names a column the answer does not have.
    """
    if not finding:
        return [Entity(("row of", name), (name, str(i))) for i in range(table.num_rows)]
    check_finding(name, finding, table)
    columns = tuple(finding)
    picked = table.select(list(columns)).to_pylist()
    return [Entity(columns, tuple(_text(row[c]) for c in columns)) for row in picked]


def distinct(found: Iterable[Entity]) -> int:
    """How many different entities ``found`` holds."""
    return len(set(found))
