"""The help pages written ahead are typer's, and are printed only where typer would print the
same text."""

from __future__ import annotations

import shutil

import pytest

from attestlake._cli import help_pages
from attestlake._cli.help_text import PAGES
from attestlake._internal.version import __version__


def test_every_page_is_the_one_typer_prints() -> None:
    rendered = help_pages.render_pages()
    stale = sorted(set(rendered) ^ set(PAGES)) + sorted(
        path for path in rendered.keys() & PAGES.keys() if rendered[path] != PAGES[path]
    )
    assert not stale, (
        f"help pages differ from the commands for {stale}: "
        "run `python -m attestlake._cli.help_pages`"
    )
    # every command and group has its page, and the pages are whole help texts
    assert {(), ("attest",), ("attest", "init"), ("crawl",), ("query", "run")} <= PAGES.keys()
    assert all(text.startswith("Usage: attestlake") for text in PAGES.values())


def test_the_written_module_is_what_the_writer_makes() -> None:
    from pathlib import Path

    written = Path(help_pages.__file__).with_name("help_text.py").read_text(encoding="utf-8")
    assert written == help_pages.module_text(PAGES)


@pytest.mark.parametrize("value", [None, "200", "80", "79", "60", "0", "-3", "wide", ""])
def test_columns_are_the_ones_typer_wraps_to(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", value)
    assert help_pages.columns() == shutil.get_terminal_size().columns


def test_a_page_only_for_command_names_then_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert help_pages.page_for(["--help"]) == PAGES[()]
    assert help_pages.page_for(["attest", "push", "--help"]) == PAGES[("attest", "push")]
    assert help_pages.page_for(["--version"]) == f"attestlake {__version__}\n"
    for args in (
        [],
        ["attest"],
        ["attest", "push"],
        ["--verbose", "--help"],  # an option before: typer decides
        ["attest", "--help", "push"],
        ["attest", "nosuch", "--help"],
        ["--help", "--help"],
        ["-h"],
        ["--version", "--help"],
    ):
        assert help_pages.page_for(args) is None, args


def test_no_page_where_typer_wraps_narrower(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "79")
    assert help_pages.page_for(["attest", "--help"]) is None
    monkeypatch.setenv("COLUMNS", "80")
    assert help_pages.page_for(["attest", "--help"]) == PAGES[("attest",)]
