"""Every command has help and is in the README; every saved query and table is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from attestlake._cli.dispatch import app
from attestlake.audit.query_files import load_queries
from attestlake.lake.maintained_views import MAINTAINED
from attestlake.lake.memory import memory_lake
from attestlake.lake.tables import RUNS, TABLES

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[tuple[str, object]]:
    root = typer.main.get_command(app)
    out: list[tuple[str, object]] = []

    def walk(prefix: str, cmd: object) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            out.append((prefix, cmd))

    walk("", root)
    return out


COMMANDS = _commands()


def test_the_cli_has_the_commands_of_the_chain() -> None:
    names = {name for name, _ in COMMANDS}
    assert {
        "contract lint",
        "keys generate",
        "attest init",
        "attest add",
        "attest status",
        "attest push",
        "crawl",
        "sql",
        "query list",
        "query run",
        "report",
        "demo",
    } <= names


def test_every_maintained_table_and_column_is_documented() -> None:
    lake_doc = (ROOT / "docs" / "lake.md").read_text()
    section = lake_doc.split("## Maintained tables", 1)[1].split("\n## ", 1)[0]
    queries_doc = (ROOT / "docs" / "queries.md").read_text()
    with memory_lake({}) as lake:
        for maintained in MAINTAINED:
            assert f"| `{maintained.name}` |" in section
            columns = lake.sql(f'SELECT * FROM "{maintained.name}" LIMIT 0').column_names
            for column in columns:
                documented = f"`{column}`" in section or column in queries_doc
                assert documented or column in RUNS.schema.names, f"{maintained.name}.{column}"


@pytest.mark.parametrize(("name", "cmd"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(name: str, cmd: object) -> None:
    assert (getattr(cmd, "help", None) or "").strip(), f"{name} has no help text"
    for param in getattr(cmd, "params", []):
        if getattr(param, "param_type_name", "") == "option" and param.name not in ("help",):
            assert (getattr(param, "help", None) or "").strip(), (
                f"{name} --{param.name} has no help"
            )
    assert f"attestlake {name}" in (ROOT / "README.md").read_text(), f"README does not show {name}"


def test_every_saved_query_is_documented() -> None:
    queries = load_queries()
    assert queries
    for q in queries:
        assert q.title and len(q.description) > 40, q.name
        for p in q.params:
            assert p.description, f"{q.name}: parameter {p.name}"


def test_every_saved_query_has_a_section_in_docs_queries() -> None:
    doc = (ROOT / "docs" / "queries.md").read_text()
    for q in load_queries():
        assert f"## `{q.name}`" in doc, f"docs/queries.md has no section for {q.name}"
        section = doc.split(f"## `{q.name}`", 1)[1].split("\n## ", 1)[0]
        assert f"**Severity:** {q.severity}" in section, q.name
        assert "**Planted:**" in section and "**Near miss:**" in section, q.name
        for p in q.params:
            assert f"`{p.name}`" in section, f"docs/queries.md: {q.name} does not document {p.name}"


def test_docs_queries_say_what_each_finding_is_and_what_each_query_requires() -> None:
    doc = (ROOT / "docs" / "queries.md").read_text()
    for q in load_queries():
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{q.name}` | ")), None)
        assert row is not None, f"docs/queries.md: no 'a finding is' row for {q.name}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert f"(`{', '.join(q.finding)}`)" in cells[1], q.name
        assert cells[3] == ", ".join(f"`{r}`" for r in q.requires), q.name


def test_every_table_and_column_is_documented() -> None:
    doc = (ROOT / "docs" / "lake.md").read_text()
    for table in TABLES:
        assert f"## `{table.name}`" in doc
        for column in table.schema.names:
            assert column in doc, f"{table.name}.{column} is not in docs/lake.md"


@pytest.mark.parametrize(("name", "cmd"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_help_paragraphs_are_not_broken_where_the_source_line_ended(name: str, cmd: object) -> None:
    """``--help`` wraps to the terminal: a paragraph's lines are joined (list items aside)."""
    for paragraph in (getattr(cmd, "help", None) or "").split("\n\n"):
        for line in paragraph.splitlines()[1:]:
            assert line.startswith(("- ", "* ", " ")), f"{name}: {paragraph!r}"
