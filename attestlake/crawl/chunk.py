"""A chunk of a crawl: a few units read, verified, normalised and turned into Arrow tables.

A chunk is the work one worker process does at a time (:mod:`attestlake.crawl.inspection`),
or the crawler itself when it runs without workers. It holds units already read, or
:class:`Fetch` es: units the worker reads itself from their source (an OCI layout directory),
so that their bytes never pass through the crawler. What comes back is a
:class:`ChunkResult`: the chunk's rows of every lake table, ``blobs`` included, as Arrow IPC
streams, and of each unit only what the crawler still needs to settle and count the batch
(:class:`Inspected`). A unit whose store failed (a transient error) is left out with a
warning, and read again by the next crawl.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from attestlake.crawl.kept import blob_rows, statements_of
from attestlake.crawl.normalize import Rows, inspect_unit
from attestlake.crawl.normalize.common import Columns, Part
from attestlake.crawl.requirements import best_rows
from attestlake.crawl.sources.interface import Candidate, Unit, UnitLoader
from attestlake.errors import StoreError
from attestlake.lake.tables import ATTESTATIONS, BLOBS, BY_NAME, CONTRACT_REQUIREMENTS
from attestlake.verify.trust import TrustPolicy

#: A batch's rows as Arrow tables, by lake table name.
Tables = dict[str, pa.Table]
#: Bounds on one chunk: units, and bytes of the units read by the crawler itself (a
#: registry's). Small enough to keep every worker busy and little in flight, large enough
#: that each costs little to send.
CHUNK_UNITS = 64
CHUNK_BYTES = 16 * 1024 * 1024
#: Units of a chunk found in the page cache in a row after which it is not read ahead
#: further (:func:`_read_in_order`): a cached store needs no reading ahead.
CACHED_IN_A_ROW = 4


@dataclass(frozen=True)
class Fetch:
    """A unit to read where the chunk runs: ``loader(key, source)``."""

    loader: UnitLoader
    key: str
    source: str


#: One unit of a chunk: already read, to read in this process (a candidate), or to read
#: where the chunk runs.
Work = Unit | Candidate | Fetch


@dataclass(frozen=True)
class Inspected:
    """What the crawler keeps of a unit once its rows are made: its key and evidence files
    (to tell a run's home, :mod:`attestlake.crawl.run_home`), and what to count it as."""

    key: str
    evidence: frozenset[str]
    attesting: bool  # documents, or an unreadable manifest: rows in ``verifications``
    published: str | None  # contract or inventory

    @classmethod
    def of(cls, unit: Unit) -> Inspected:
        return cls(
            unit.key,
            frozenset(unit.evidence),
            bool(unit.documents or unit.error),
            unit.published.kind if unit.published is not None else None,
        )


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ChunkResult:
    """A chunk's rows, by lake table, as Arrow IPC streams, and its units in order."""

    streams: dict[str, bytes] | dict[str, pa.Buffer]
    units: tuple[Inspected, ...]
    skipped: tuple[str, ...] = ()  # warnings: units left out, their store failing

    @property
    def nbytes(self) -> int:
        return sum(len(s) for s in self.streams.values())

    def tables(self) -> Tables:
        return {name: pa.ipc.open_stream(s).read_all() for name, s in self.streams.items()}


def to_tables(rows: Rows) -> Tables:
    """Arrow tables by lake table name (contract requirements already deduplicated here)."""
    requirements = rows.rows(CONTRACT_REQUIREMENTS.name)
    if requirements:
        rows.replace(CONTRACT_REQUIREMENTS.name, best_rows(requirements))
    tables = {name: _arrow(rows.parts(name), BY_NAME[name].schema) for name in rows.tables()}
    return {name: table for name, table in tables.items() if table.num_rows}


def _arrow(parts: Sequence[Part], schema: pa.Schema) -> pa.Table:
    """One table's runs of rows as one Arrow table (a column a row lacks is null)."""
    tables = [
        _columns(part, schema) if isinstance(part, Columns) else pa.Table.from_pylist(part, schema)
        for part in parts
    ]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _columns(columns: Columns, schema: pa.Schema) -> pa.Table:
    n = len(columns)
    return pa.table(
        [
            pa.array(columns.values[f.name], f.type)
            if f.name in columns.values
            else pa.nulls(n, f.type)
            for f in schema
        ],
        schema=schema,
    )


def _read(item: Work) -> Unit | str:
    """The unit of ``item``, or why it is skipped."""
    if isinstance(item, Unit):
        return item
    try:
        return item.load() if isinstance(item, Candidate) else item.loader(item.key, item.source)
    except StoreError as exc:  # transient: not recorded, so the next crawl tries again
        return f"{item.source}: skipped, store failed: {exc}"


def _read_in_order(work: Sequence[Work]) -> Iterator[Unit | str]:
    """What :func:`_read` gives for each item of ``work``, in order.

    Meanwhile a thread has the files of the units to fetch read into the page cache ahead of
    them: in a store that is not in the page cache each read waits on the disk, and the kernel
    reads the next units' files in the meantime. The thread only asks (it holds no bytes),
    and stops once :data:`CACHED_IN_A_ROW` units in a row were in the page cache already."""
    fetches = [item for item in work if isinstance(item, Fetch)]
    if len(fetches) < 2:
        yield from map(_read, work)
        return
    done = threading.Event()
    warming = threading.Thread(target=_warm, args=(fetches, done), name="warm", daemon=True)
    warming.start()
    try:
        yield from map(_read, work)
    finally:
        done.set()
        warming.join()


def _warm(fetches: list[Fetch], done: threading.Event) -> None:
    cached = 0
    for item in fetches:
        if done.is_set() or cached == CACHED_IN_A_ROW:
            return
        cached = cached + 1 if item.loader.warm(item.key) else 0


def inspect_chunk(work: Sequence[Work], policy: TrustPolicy, now: datetime) -> ChunkResult:
    """Read what is to read of ``work``, verify and normalise every unit; ``now``: when the
    crawl saw them (a unit read again from the lake keeps its own time)."""
    rows = Rows()
    units: list[Unit] = []
    skipped: list[str] = []
    for unit in _read_in_order(work):
        if isinstance(unit, str):
            skipped.append(unit)
            continue
        rows.extend(inspect_unit(unit, policy, now))
        units.append(unit)
    statements = statements_of(rows.rows(ATTESTATIONS.name))
    tables = to_tables(rows)
    blobs = blob_rows(units, now, statements)
    if blobs is not None:
        tables[BLOBS.name] = blobs
    return ChunkResult(
        {name: _ipc(table) for name, table in tables.items()},
        tuple(Inspected.of(u) for u in units),
        tuple(skipped),
    )


def merged(results: Sequence[ChunkResult]) -> tuple[Tables, list[Inspected]]:
    """The rows of a batch made of ``results`` (chunks in order), and its units: each
    ``blobs`` row numbered by its unit's place in the batch, one set of contract requirement
    rows per contract across the chunks."""
    parts: dict[str, list[pa.Table]] = {}
    units: list[Inspected] = []
    for result in results:
        for name, table in result.tables().items():
            if name == BLOBS.name and units:
                index = table.schema.get_field_index("unit_index")
                shifted = pc.add(table["unit_index"], pa.scalar(len(units), pa.int32()))
                table = table.set_column(index, "unit_index", shifted)
            parts.setdefault(name, []).append(table)
        units.extend(result.units)
    tables = {name: pa.concat_tables(p) if len(p) > 1 else p[0] for name, p in parts.items()}
    requirements = tables.get(CONTRACT_REQUIREMENTS.name)
    if requirements is not None and len(parts[CONTRACT_REQUIREMENTS.name]) > 1:
        kept = best_rows(requirements.to_pylist())  # the best unit per contract
        tables[CONTRACT_REQUIREMENTS.name] = pa.Table.from_pylist(
            kept, schema=CONTRACT_REQUIREMENTS.schema
        )
    return tables, units
