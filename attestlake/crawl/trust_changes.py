"""The documents whose verdict a re-evaluation changed: the rows of ``trust_changes``.

They are found by joining the lake's verdicts with the scratch lake's in one DuckDB query
(``kept_sql/trust_changes.sql``) under the bound of a lake session's working memory, and
written to a Parquet file in the scratch directory, before any of the lake's tables is
replaced; once they are, :func:`append` adds the rows to the lake's ``trust_changes`` a slice
at a time. Neither step holds a Python object per verdict: a re-evaluation of a lake of a
million runs holds no more of them than one of a thousand.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from attestlake.contracts.declaration import PREDICATE_TYPE as DECLARATION_TYPE
from attestlake.crawl.kept_sessions import kept_session, kept_sql
from attestlake.lake.object_store import LakeRoot
from attestlake.lake.tables import PUBLISHED_DOCUMENTS, TRUST_CHANGES, VERIFICATIONS
from attestlake.lake.write import Appender
from attestlake.verify.outcome import VERIFIED

__all__ = ["append", "find"]

#: Rows per slice read from the query, and per commit of ``trust_changes``.
SLICE_ROWS = 65_536


def find(root: LakeRoot, scratch: LakeRoot, into: Path) -> int:
    """Write to the Parquet file ``into`` every document whose verdict in the scratch lake at
    ``scratch`` is not the lake's at ``root`` (the columns of ``trust_changes`` that vary by
    row); return how many."""
    tables = {
        f"{side}_{name}": (lake, table)
        for side, lake in (("before", root), ("after", scratch))
        for name, table in (("verifications", VERIFICATIONS), ("published", PUBLISHED_DOCUMENTS))
    }
    found = 0
    schema = _found_schema()
    with kept_session(tables) as con:
        params = {"verified": VERIFIED, "declaration": DECLARATION_TYPE}
        reader = con.sql(kept_sql("trust_changes"), params=params).to_arrow_reader(SLICE_ROWS)
        with pq.ParquetWriter(into, schema) as writer:
            for batch in reader:
                writer.write_batch(batch.cast(schema))
                found += batch.num_rows
    return found


def _found_schema() -> pa.Schema:
    """What :func:`find` writes: the columns of ``trust_changes`` from ``change`` to
    ``detail_after``, in order."""
    names = TRUST_CHANGES.schema.names
    varying = names[names.index("change") : names.index("detail_after") + 1]
    return pa.schema([TRUST_CHANGES.schema.field(n) for n in varying])


def append(
    appender: Appender,
    found: Path,
    *,
    policies: tuple[str | None, str],
    at: datetime,
    crawl_id: str,
    crawl_batch: int,
) -> Counter[str]:
    """Append the rows :func:`find` wrote to ``found`` to the lake's ``trust_changes``, each
    with the time, the two policies and the crawl columns; return how many of each change."""
    counted: Counter[str] = Counter()
    given = {
        "changed_at": at,
        "policy_before": policies[0],
        "policy_after": policies[1],
        "crawl_id": crawl_id,
        "crawl_batch": crawl_batch,
    }
    constants = {
        name: pa.scalar(value, TRUST_CHANGES.schema.field(name).type)
        for name, value in given.items()
    }
    for batch in pq.ParquetFile(found).iter_batches(SLICE_ROWS):
        rows = pa.Table.from_batches([batch])
        columns = {
            field.name: (
                rows[field.name]
                if field.name in rows.column_names
                else pa.repeat(constants[field.name], rows.num_rows)
            )
            for field in TRUST_CHANGES.schema
        }
        appender.append(TRUST_CHANGES, pa.table(columns, schema=TRUST_CHANGES.schema))
        for change, count in zip(*pc.value_counts(rows["change"]).flatten(), strict=True):
            counted[change.as_py()] += count.as_py()
    return counted
