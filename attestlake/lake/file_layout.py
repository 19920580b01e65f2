"""How the lake's data files are written: compressed with zstd, each batch's rows in the
order of its table's ``sort_by`` columns.

Every write goes through :func:`writer_properties` (appends, compaction and the tables a
re-evaluation replaces alike), so that a lake's files share one codec. A table with ``sort_by``
columns (those its queries partition, filter and join on) has each batch sorted by them, which
gives each file's row groups narrow min/max statistics that DuckDB uses to skip them. The
other tables keep the order the crawler read their rows in: the store's order, in which
similar documents sit close together and compress best (sorting them by digest made files up
to three times larger). ``blobs`` is sorted by ``role`` only, which puts the documents
together and the evidence files together, and its ``content`` (whole files, read only whole)
is written without a dictionary or statistics, in pages of :data:`LARGE_VALUE_PAGE` bytes:
zstd then finds what similar files share across more of them; its row groups hold
:data:`LARGE_VALUE_ROW_GROUP` rows, ``sbom_components``' :data:`NARROW_ROW_GROUP`, every other
table's :data:`ROW_GROUP`. A table's ``no_statistics`` columns (documents and free text) are
written without statistics: a statement's whole text as a file's minimum and maximum made 69%
of the bytes of ``attestations``' entries in the Delta log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import WriterProperties

    from attestlake.lake.table_schema import Table

#: The zstd level of every data file: level 3 is within 5% of the size level 9 gives on a
#: crawled lake, at a fraction of the time.
ZSTD_LEVEL = 3
#: The data page size of a table with large values (the default is 1 MiB): 8 MiB pages made
#: ``blobs`` 3% smaller at 10,000 runs, 32 MiB pages under 1% more.
LARGE_VALUE_PAGE = 8 * 1024 * 1024
#: The rows of a row group of a table with large values (the default is about a million): a
#: compacted ``blobs`` of 100k runs was one row group of 1.6 GB of files, which a reader must
#: take whole to reach any of its rows; 1,024 rows of whole files are a few MB (a crawl batch
#: writes about three thousand), so a reader that wants one crawl batch's rows skips the rest
#: by their statistics.
LARGE_VALUE_ROW_GROUP = 1024
#: The rows of a row group of every other table (the default is about a million): DuckDB reads
#: a row group at a time per thread, and a million runs' ``runs`` merged in row groups of
#: 65,536 rows made a maintained table's definition run out of the refresh's 256 MB, where
#: 8,192 rows fit (see docs/performance.md, *Small files merged during a crawl*).
ROW_GROUP = 8192
#: The rows of a row group of ``sbom_components`` (:attr:`Table.row_group`): its rows are
#: narrow and its values repeat within an SBOM, so larger row groups compress them better
#: (a compacted 10k-run lake's table 3.9 MiB in 8,192-row groups, 2.9 MiB in 65,536) while
#: a reader's row group stays a few MB.
NARROW_ROW_GROUP = 65_536


#: The table property naming the columns with statistics in the Delta log.
LOG_STATISTICS = "delta.dataSkippingStatsColumns"


def table_properties(table: Table) -> dict[str, str]:
    """The Delta table properties of ``table``: statistics in its log for
    :attr:`Table.log_statistics` alone."""
    return {LOG_STATISTICS: ",".join(table.log_statistics)}


def writer_properties(table: Table | None = None) -> WriterProperties:
    """The Parquet settings of every data file the lake writes (of ``table``'s, when given)."""
    from deltalake import ColumnProperties, WriterProperties

    if table is None:
        return WriterProperties(compression="ZSTD", compression_level=ZSTD_LEVEL)
    columns = dict.fromkeys(table.no_statistics, ColumnProperties(statistics_enabled="NONE"))
    whole = ColumnProperties(dictionary_enabled=False, statistics_enabled="NONE")
    columns.update(dict.fromkeys(table.large_values, whole))
    large = bool(table.large_values)
    return WriterProperties(
        compression="ZSTD",
        compression_level=ZSTD_LEVEL,
        data_page_size_limit=LARGE_VALUE_PAGE if large else None,
        max_row_group_size=table.row_group or (LARGE_VALUE_ROW_GROUP if large else ROW_GROUP),
        column_properties=columns or None,
    )


def ordered(table: Table, data: pa.Table) -> pa.Table:
    """``data`` sorted by ``table.sort_by`` (the columns it has of them; NULLs last; rows
    that tie keep their order)."""
    keys = [(c, "ascending", "at_end") for c in table.sort_by if c in data.column_names]
    if not keys or data.num_rows < 2:
        return data
    return data.sort_by(keys)
