"""Ad-hoc SQL over a lake: a script (``--file``, stdin) or the interactive prompt.

The prompt (``attestlake> ``) reads statements that end with ``;`` (over several lines if
need be) and dot commands at the start of a statement:

    .tables            the lake's views with their row counts
    .schema [TABLE]    columns and types of one view (or of every view)
    .format FORMAT     table, json or csv for the results that follow
    .help              this list
    .quit / .exit      leave (so does end of input, Ctrl-D)

The lake is read-only: only SELECT, EXPLAIN and temporary views and macros run
(:meth:`attestlake.lake.lake.Lake.sql`). An error (bad SQL, unknown view, a statement that would
write) is shown and the prompt goes on. The shell never prints: it is given ``read`` (prompt -> line, EOFError at end of input), ``write`` and ``error``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from attestlake.errors import Error, InputError
from attestlake.lake.lake import Lake
from attestlake.lake.render import FORMATS, format_table

PROMPT = "attestlake> "
CONTINUATION = "       ...> "
HELP = """\
End a statement with ';' (it may span several lines); the lake is read-only (SELECT,
EXPLAIN and CREATE TEMP VIEW run). Commands:
  .tables            the lake's views with their row counts
  .schema [TABLE]    columns and types of one view (or of every view)
  .format FORMAT     table, json or csv for the results that follow
  .help              this list
  .quit / .exit      leave (so does Ctrl-D)"""


def run_script(lake: Lake, text: str) -> pa.Table:
    """Run one or more ``;``-separated statements; the last statement's rows."""
    if not statement_text(text):
        raise InputError("no SQL statement given")
    return lake.sql(text)


def statement_text(text: str) -> str:
    """``text`` without comments-only or blank content ('' if there is no statement)."""
    meaningful = [
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("--")
    ]
    return "\n".join(meaningful).strip().strip(";").strip()


def view_counts(lake: Lake) -> pa.Table:
    """One row per view of the lake: its name and row count."""
    names = lake.tables()
    counts = [
        lake.sql(f'SELECT count(*) AS n FROM "{name}"').column("n")[0].as_py()  # noqa: S608
        for name in names  # names come from attestlake.lake.tables, not from the user
    ]
    return pa.table({"table": names, "rows": pa.array(counts, pa.int64())})


def view_schema(lake: Lake, name: str | None = None) -> pa.Table:
    """Columns and types of the view ``name`` (every view when None); InputError if unknown."""
    if name is not None and name not in lake.tables():
        raise InputError(f"no table {name!r}; tables: {', '.join(lake.tables())}")
    return lake.sql(
        "SELECT table_name AS table, column_name AS column, data_type AS type "
        "FROM information_schema.columns "
        "WHERE table_schema = 'main' AND ($name IS NULL OR table_name = $name) "
        "AND list_contains($tables, table_name) ORDER BY table_name, ordinal_position",
        {"name": name, "tables": lake.tables()},
    )


@dataclass
class Shell:
    """The interactive prompt over one open lake."""

    lake: Lake
    write: Callable[[str], None]
    error: Callable[[str], None]
    fmt: str = "table"
    _buffer: list[str] = field(default_factory=list)

    def run(self, read: Callable[[str], str]) -> None:
        """Read and run statements until ``.quit`` or end of input."""
        while True:
            try:
                line = read(CONTINUATION if self._buffer else PROMPT)
            except EOFError:
                if self._buffer:
                    self.error("error: incomplete statement discarded (no ';' before the end)")
                return
            except KeyboardInterrupt:
                self._buffer.clear()
                self.write("")
                continue
            if not self.feed(line):
                return

    def feed(self, line: str) -> bool:
        """Take one line; False when the user asked to leave."""
        if not self._buffer and line.strip().startswith("."):
            return self.command(line.strip())
        if not self._buffer and not line.strip():
            return True
        self._buffer.append(line)
        text = "\n".join(self._buffer)
        if sqlite3.complete_statement(text):
            self._buffer.clear()
            self._show(lambda: run_script(self.lake, text))
        return True

    def command(self, line: str) -> bool:
        """Run a dot command; False for ``.quit``."""
        word, _, arg = line.partition(" ")
        arg = arg.strip()
        if word in (".quit", ".exit", ".q"):
            return False
        if word == ".help":
            self.write(HELP)
        elif word == ".tables":
            self._show(lambda: view_counts(self.lake))
        elif word == ".schema":
            self._show(lambda: view_schema(self.lake, arg or None))
        elif word == ".format" and arg in FORMATS:
            self.fmt = arg
        elif word == ".format":
            self.error(f"error: .format takes one of: {', '.join(FORMATS)}")
        else:
            self.error(f"error: unknown command {word}; try .help")
        return True

    def _show(self, produce: Callable[[], pa.Table]) -> None:
        try:
            self.write(format_table(produce(), self.fmt))
        except Error as exc:
            self.error(f"error: {exc.diagnostics()}")
        except KeyboardInterrupt:
            self.error("interrupted")
