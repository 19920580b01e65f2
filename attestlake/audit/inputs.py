"""The inputs a saved query needs to mean something, and whether a lake has them.

A query over the inventory finds nothing in a lake that never crawled one: its empty answer
would read as "no problem". A saved query names such inputs in its header
(``-- requires: inventory``); before it runs, each is checked on the lake, and a missing one
is reported with the query's answer (:class:`MissingInput`), in ``attestlake query run`` and
in every report format, instead of a bare "no rows".

| name | present when | filled by |
| --- | --- | --- |
| ``inventory`` | ``current_inventory`` has a row | crawling the store ``attestlake inventory push`` publishes to |
| ``contracts`` | ``published_documents`` holds a trusted (``verified``) contract | crawling the store ``attestlake contract push`` publishes to |
"""

from __future__ import annotations

from dataclasses import dataclass

from attestlake.lake.lake import Lake


@dataclass(frozen=True)
class Input:
    """One input a saved query may require: how to tell the lake has it, and what to say
    when it has not."""

    name: str
    present_sql: str  # one row, one boolean column: does the lake hold this input?
    missing: str  # what is missing and how to get it, for the auditor


@dataclass(frozen=True)
class MissingInput:
    """An input a query required that the lake lacks, with the message to show."""

    name: str
    message: str


INPUTS = {
    i.name: i
    for i in (
        Input(
            "inventory",
            "SELECT EXISTS (SELECT 1 FROM current_inventory) AS present",
            "no inventory in this lake: crawl the SecOps store (where 'attestlake inventory "
            "push' publishes, signed) into this lake, under a trust policy whose declared_state "
            "names that store and its signer; until then a workflow that never attested is "
            "unknown",
        ),
        Input(
            "contracts",
            "SELECT EXISTS (SELECT 1 FROM published_documents "
            "WHERE kind = 'contract' AND status = 'verified') AS present",
            "no trusted published contract in this lake: crawl the SecOps store (where "
            "'attestlake contract push' publishes, signed) into this lake, under a trust policy "
            "whose declared_state names that store and its signer; until then only the contract "
            "revisions some run used are known, and a newer one that nobody runs yet is not "
            "checked",
        ),
    )
}


def missing_inputs(lake: Lake, names: tuple[str, ...]) -> tuple[MissingInput, ...]:
    """The inputs among ``names`` that ``lake`` lacks, in the order given."""
    missing = []
    for name in names:
        wanted = INPUTS[name]
        rows = lake.sql(wanted.present_sql).to_pylist()
        if not (rows and rows[0]["present"]):
            missing.append(MissingInput(name, wanted.missing))
    return tuple(missing)
