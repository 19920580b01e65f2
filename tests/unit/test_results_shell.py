"""The interactive SQL prompt driven line by line (attestlake.lake.shell), and SQL scripts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from attestlake.errors import InputError
from attestlake.lake.lake import Lake
from attestlake.lake.shell import CONTINUATION, PROMPT, Shell, run_script, view_counts, view_schema
from tests.lakefactory import raw_lake


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Lake]:
    run = {
        "run_id": "run-1",
        "manifest_digest": "sha256:" + "1" * 64,
        "workflow": "build",
        "started_at": datetime(2024, 5, 1, tzinfo=UTC),
        "run_date": "2024-05-01",
    }
    with Lake.open(raw_lake(tmp_path / "lake", {"runs": [run]})) as opened:
        yield opened


class Session:
    """A shell fed from a list of lines (or exceptions), recording prompts and output."""

    def __init__(self, lake: Lake, lines: list[str | BaseException]) -> None:
        self.lines = iter(lines)
        self.prompts: list[str] = []
        self.out: list[str] = []
        self.err: list[str] = []
        self.shell = Shell(lake, self.out.append, self.err.append)

    def read(self, prompt: str) -> str:
        self.prompts.append(prompt)
        item = next(self.lines, None)
        if item is None:
            raise EOFError
        if isinstance(item, BaseException):
            raise item
        return item

    def run(self) -> Session:
        self.shell.run(self.read)
        return self


def test_statements_span_lines_and_end_with_a_semicolon(lake: Lake) -> None:
    s = Session(lake, ["SELECT run_id", "FROM runs", "WHERE workflow = 'a;b';", ""]).run()
    assert s.prompts[:4] == [PROMPT, CONTINUATION, CONTINUATION, PROMPT]
    assert s.out == ["(no rows)"] and s.err == []


def test_errors_keep_the_prompt_going(lake: Lake) -> None:
    s = Session(lake, ["SELECT nope;", ".nope", ".format xml", "SELECT 1 AS one;"]).run()
    assert s.err[0].startswith("error: SQL error: Binder Error")
    assert s.err[1:] == [
        "error: unknown command .nope; try .help",
        "error: .format takes one of: table, json, csv",
    ]
    assert s.out == ["one\n---\n  1"]


def test_dot_commands(lake: Lake) -> None:
    s = Session(lake, [".help", ".tables", ".format json", ".schema runs", ".quit", ".tables"])
    s.run()
    assert s.out[0].startswith("End a statement with ';'")
    assert "runs" in s.out[1] and "verifications" in s.out[1]
    assert '"column": "run_id"' in s.out[2] and '"table": "runs"' in s.out[2]
    assert len(s.out) == 3  # nothing after .quit


def test_ctrl_c_drops_the_statement_being_typed(lake: Lake) -> None:
    s = Session(lake, ["SELECT 'dropped'", KeyboardInterrupt(), "SELECT 2 AS two;"]).run()
    assert s.prompts[:3] == [PROMPT, CONTINUATION, PROMPT]
    assert s.out == ["", "two\n---\n  2"]


def test_end_of_input_mid_statement(lake: Lake) -> None:
    s = Session(lake, ["SELECT 1"]).run()
    assert s.err == ["error: incomplete statement discarded (no ';' before the end)"]


def test_views_and_schemas(lake: Lake) -> None:
    counts = {r["table"]: r["rows"] for r in view_counts(lake).to_pylist()}
    assert counts["runs"] == 1 and set(counts) == set(lake.tables())
    columns = view_schema(lake, "runs").to_pylist()
    assert columns[0] == {"table": "runs", "column": "run_id", "type": "VARCHAR"}
    assert {r["table"] for r in view_schema(lake).to_pylist()} == set(lake.tables())
    with pytest.raises(InputError, match="no table 'runz'; tables: "):
        view_schema(lake, "runz")


def test_run_script(lake: Lake) -> None:
    table = run_script(
        lake, "-- two statements\nCREATE TEMP VIEW v AS SELECT 7 AS x;\nSELECT x FROM v;"
    )
    assert table.to_pylist() == [{"x": 7}]
    with pytest.raises(InputError, match="no SQL statement given"):
        run_script(lake, "-- only a comment\n;\n")
