"""The Typer apps, shared options and small helpers of the command line."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli.choices import TABLE_FORMAT
from attestlake._cli.console import echo, state
from attestlake._internal.version import version_line

app = typer.Typer(
    name="attestlake",
    rich_markup_mode=None,
    help="An attestation lake: collect, sign and push in-toto attestations to OCI, crawl and "
    "verify them into Delta tables, and audit them with SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def command_group(help_text: str) -> typer.Typer:
    """A group of commands. Help and usage errors are plain text: rendering them with rich
    costs more start-up time than the rest of the command line together."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


contract_app = command_group("Lint workflow contracts.")
keys_app = command_group("Manage signing keys.")
attest_app = command_group(
    "The collector: craft, check, sign and push one workflow run's attestation."
)
query_app = command_group("List and run the saved audit queries.")
app.add_typer(contract_app, name="contract")
app.add_typer(keys_app, name="keys")
app.add_typer(attest_app, name="attest")
app.add_typer(query_app, name="query")


StateOpt = Annotated[
    Path,
    typer.Option(
        "--state",
        envvar="ATTESTLAKE_STATE",
        help="File holding the run in progress between the attest steps.",
    ),
]
DEFAULT_STATE = Path(".attestlake/attestation.json")
FormatOpt = Annotated[
    str,
    typer.Option(
        "--format", "-f", help="Output format: table, json or csv.", callback=TABLE_FORMAT
    ),
]
LakeOpt = Annotated[
    str,
    typer.Option(
        "--lake",
        metavar="DIR|s3://BUCKET/PREFIX",
        help="The lake: a directory, or a prefix in S3 (credentials from the AWS_* "
        "environment variables; docs/lake.md).",
    ),
]


def _version(value: bool) -> None:
    if value:
        echo(version_line())
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks for errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    state["verbose"] = verbose


def _reflowed(doc: str) -> str:
    """``doc`` with each paragraph on one line (the terminal wraps it), so that ``--help``
    never breaks a sentence where the source line ended. Lines that start a list item or are
    indented keep their line."""
    paragraphs = []
    for paragraph in inspect.cleandoc(doc).split("\n\n"):
        lines = paragraph.splitlines()
        joined = lines[:1]
        for line in lines[1:]:
            if line.startswith(("- ", "* ", " ", "\b")):
                joined.append(line)
            else:
                joined[-1] = f"{joined[-1]} {line}"
        paragraphs.append("\n".join(joined))
    return "\n\n".join(paragraphs)


def reflow_help(typer_app: typer.Typer) -> None:
    """Reflow the docstrings of every command of ``typer_app`` and its groups (typer keeps a
    docstring's line breaks in ``--help``)."""
    for command in typer_app.registered_commands:
        if command.callback is not None and command.callback.__doc__:
            command.callback.__doc__ = _reflowed(command.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)
