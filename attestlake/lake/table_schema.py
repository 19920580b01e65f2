"""A lake table described: its name, Arrow schema, partition columns, trust, row key and order.

Every table the crawler writes ends with the same two columns (:data:`CRAWL_COLUMNS`): the crawl
and the batch of that crawl that wrote the row. The tables themselves are listed in
:mod:`attestlake.lake.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

#: The type of every timestamp column: microseconds, UTC.
TIMESTAMP = pa.timestamp("us", tz="UTC")
_S = pa.string()


@dataclass(frozen=True)
class Table:
    name: str
    schema: pa.Schema
    #: The partition columns of a new table (none: a table holds few large files; lakes
    #: written before keep the partitions their logs record, ``run_date=``/``crawl_date=``).
    partition_by: tuple[str, ...] = ()
    trusted: bool = True
    #: Columns that identify a row: the crawler never writes two rows with the same key.
    key: tuple[str, ...] = ()
    #: The order of the rows within each batch written (none: as the crawler read them): the
    #: columns queries partition, filter and join on, so that row-group statistics prune, or
    #: (``blobs``) that put similar values together, so that they compress better.
    sort_by: tuple[str, ...] = ()
    #: Columns of large values (whole files): written without a dictionary or statistics, in
    #: larger pages (:mod:`attestlake.lake.file_layout`).
    large_values: tuple[str, ...] = ()
    #: Columns of documents or free text (a statement's JSON, a build's parameters, a
    #: finding's message) that no query selects rows by the range of: written without
    #: statistics. The minimum and maximum of a whole statement would otherwise sit in every
    #: file's footer and in the file's entry of the Delta log, which every reader of the log,
    #: and each table a crawl keeps open, holds in memory.
    no_statistics: tuple[str, ...] = ()
    #: Columns besides the key and the sort order that a reader of the Delta log selects
    #: files by (a crawl's own reads of the lake): their statistics stay in the log.
    selected_by: tuple[str, ...] = ()
    #: The rows of a row group of the table's files, for a table of many narrow rows (none:
    #: :mod:`attestlake.lake.file_layout`'s default for a table with or without large values).
    row_group: int | None = None

    @property
    def log_statistics(self) -> tuple[str, ...]:
        """The columns whose minimum and maximum each file's entry of the Delta log records:
        those the table's rows are keyed, sorted and :attr:`selected_by`, and the crawl and
        batch that wrote them. Readers of the log (delta-rs's datasets, Spark) skip files by
        these; DuckDB reads the files' own footers, which keep every column's but
        :attr:`no_statistics`. Each opened table holds its files' entries in memory, every
        column's statistics otherwise among them."""
        wanted = {*self.key, *self.sort_by, *self.selected_by, *(c for c, _ in CRAWL_COLUMNS)}
        return tuple(f.name for f in self.schema if f.name in wanted)


def schema_of(*columns: tuple[str, pa.DataType] | str) -> pa.Schema:
    """Columns given as names (strings) or (name, type) pairs."""
    return pa.schema([(c, _S) if isinstance(c, str) else c for c in columns])


#: The columns that name the crawl and batch that wrote a row, last in every crawled table.
CRAWL_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (("crawl_id", _S), ("crawl_batch", pa.int32()))


def crawled(*columns: tuple[str, pa.DataType] | str) -> pa.Schema:
    """The schema of a table the crawler writes: ``columns``, then :data:`CRAWL_COLUMNS`."""
    return schema_of(*columns, *CRAWL_COLUMNS)
