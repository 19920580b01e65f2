"""The ``attestlake`` command line: a thin layer over the library.

Each command parses its options, calls one library function and renders the result. Errors
derive from :class:`attestlake.errors.Error`; they are caught here only, printed as one line
(with a traceback under ``--verbose``) and mapped to the exit codes documented in the README.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer

from attestlake import __version__
from attestlake.errors import Error, FindingsAtSeverity, InputError

app = typer.Typer(
    name="attestlake",
    help="An attestation lake: collect, sign and push in-toto attestations to OCI, crawl and "
    "verify them into Delta tables, and audit them with SQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
contract_app = typer.Typer(help="Lint workflow contracts.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage signing keys.", no_args_is_help=True)
attest_app = typer.Typer(
    help="The collector: craft, check, sign and push one workflow run's attestation.",
    no_args_is_help=True,
)
query_app = typer.Typer(help="List and run the saved audit queries.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")
app.add_typer(keys_app, name="keys")
app.add_typer(attest_app, name="attest")
app.add_typer(query_app, name="query")

_state: dict[str, bool] = {"verbose": False}

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
    str, typer.Option("--format", "-f", help="Output format: table, json or csv.")
]
LakeOpt = Annotated[Path, typer.Option("--lake", help="The lake directory.")]


def _echo(text: str = "", err: bool = False) -> None:
    typer.echo(text, err=err, nl=not text.endswith("\n"))


def _kv(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"{what} must be KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def _version(value: bool) -> None:
    if value:
        _echo(f"attestlake {__version__}")
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
    _state["verbose"] = verbose


# -- contracts ---------------------------------------------------------------------------------
@contract_app.command("lint")
def contract_lint(
    files: Annotated[list[Path], typer.Argument(help="Contract YAML files.")],
) -> None:
    """Check contract files; print OK or the field and line that is wrong."""
    from attestlake.contracts import load_contract

    for f in files:
        c = load_contract(f)
        _echo(
            f"OK {f}: contract {c.name} revision {c.revision}, {len(c.materials)} materials, "
            f"digest {c.digest}"
        )


# -- keys --------------------------------------------------------------------------------------
@keys_app.command("generate")
def keys_generate(
    out: Annotated[
        Path, typer.Option("--out", help="Path prefix: writes PREFIX.key and PREFIX.pub.")
    ] = Path("attestlake"),
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            help="Encrypt the private key with the password in this environment variable.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Generate an ECDSA P-256 signing key pair (PKCS#8 private key, SPKI public key)."""
    from attestlake.keys import generate_key

    password = None
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise InputError(f"environment variable {password_env} is not set or empty")
        password = value.encode()
    private_path, public_path = Path(f"{out}.key"), Path(f"{out}.pub")
    for p in (private_path, public_path):
        if p.exists() and not force:
            raise InputError(f"{p} exists; use --force to overwrite it")
    private, public = generate_key(password)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    public_path.write_bytes(public)
    _echo(f"private key: {private_path} (keep it secret)\npublic key:  {public_path}")


# -- collector ---------------------------------------------------------------------------------
@attest_app.command("init")
def attest_init(
    contract: Annotated[Path, typer.Option("--contract", help="The contract YAML file.")],
    workflow: Annotated[str, typer.Option("--workflow", help="Workflow name.")],
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    team: Annotated[str | None, typer.Option("--team", help="Owning team.")] = None,
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="Run annotation KEY=VALUE.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Do not enforce the contract's runner type.")
    ] = False,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Start an attestation for this workflow run (discovers the CI runner)."""
    from attestlake.collector import Attestation
    from attestlake.contracts import load_contract

    att = Attestation.init(
        load_contract(contract),
        workflow=workflow,
        project=project,
        team=team,
        env=os.environ,
        dry_run=dry_run,
        annotations=_kv(annotation, "--annotation"),
    )
    att.save(state)
    _echo(
        f"attestation {att.run_id} started: workflow {workflow}, project {project}, "
        f"contract {att.contract.name} revision {att.contract.revision}, runner {att.runner.type}"
    )
    _print_status(att.status())


@attest_app.command("add")
def attest_add(
    value: Annotated[str, typer.Option("--value", help="File path, image reference or string.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Material name from the contract.")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Material kind, for a material the contract does not name."),
    ] = None,
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="Material annotation KEY=VALUE.")
    ] = None,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Add a material to the attestation; it is validated by kind."""
    from attestlake.collector import Attestation

    att = Attestation.load(state)
    material = att.add(name, value, kind=kind, annotations=_kv(annotation, "--annotation"))
    att.save(state)
    _echo(f"added {material.name} ({material.kind}) {material.digest or material.value}")


def _print_status(status: Any) -> None:
    _echo(f"contract {status.contract} revision {status.revision}; runner {status.runner_type}")
    _echo(f"  present: {', '.join(status.present) or 'none'}")
    if status.optional_missing:
        _echo(f"  optional, not added: {', '.join(status.optional_missing)}")
    if status.complete:
        _echo("  ready to push")
    else:
        _echo(f"  missing: {', '.join(status.missing())}")


@attest_app.command("status")
def attest_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Show what the attestation holds and what the contract still needs."""
    from attestlake.collector import Attestation

    att = Attestation.load(state)
    status = att.status()
    if as_json:
        _echo(
            json.dumps(
                {
                    "runId": att.run_id,
                    "contract": status.contract,
                    "revision": status.revision,
                    "runner": status.runner_type,
                    "present": list(status.present),
                    "missing": status.missing(),
                    "complete": status.complete,
                },
                indent=2,
            )
        )
    else:
        _echo(f"attestation {att.run_id}: workflow {att.workflow}, project {att.project}")
        _print_status(status)


@attest_app.command("push")
def attest_push(
    key: Annotated[Path, typer.Option("--key", help="Private key (PEM) to sign with.")],
    to: Annotated[
        str, typer.Option("--to", help="Store: an OCI layout directory or HOST[:PORT]/REPO.")
    ],
    annotation: Annotated[
        list[str] | None, typer.Option("--annotation", "-a", help="Run annotation KEY=VALUE.")
    ] = None,
    state: StateOpt = DEFAULT_STATE,
) -> None:
    """Sign the attestation and push it with its evidence; refuses if the contract is unmet.

    The key's password, if any, is read from ATTESTLAKE_KEY_PASSWORD.
    """
    from attestlake.collector import Attestation
    from attestlake.keys import KeySigner
    from attestlake.store import open_store

    att = Attestation.load(state)
    for k, v in _kv(annotation, "--annotation").items():
        att.annotate(k, v)
    password = os.environ.get("ATTESTLAKE_KEY_PASSWORD")
    signer = KeySigner.from_file(key, password.encode() if password else None)
    result = att.push(signer, open_store(to))
    att.save(state)
    verb = "already pushed" if result.already_pushed else "pushed"
    _echo(f"{verb} {result.store}:{result.tag}")
    _echo(f"  manifest {result.manifest_digest}\n  envelope {result.envelope_digest}")


# -- crawler -----------------------------------------------------------------------------------
@app.command()
def crawl(
    source: Annotated[
        str,
        typer.Option("--from", help="Store to crawl: an OCI layout directory or HOST[:PORT]/REPO."),
    ],
    lake: LakeOpt,
    trust: Annotated[Path, typer.Option("--trust", help="Trust policy YAML.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Discover attestations in a store, verify them, and write the lake (incremental)."""
    from attestlake.crawl import crawl as run_crawl
    from attestlake.store import open_store
    from attestlake.trust import load_policy

    policy = load_policy(trust)
    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if tty:
            sys.stderr.write(f"\rcrawling: {done}/{total} manifests")
            sys.stderr.flush()

    result = run_crawl(open_store(source), lake, policy, progress=progress)
    if tty and result.ingested:
        sys.stderr.write("\n")
    if as_json:
        _echo(json.dumps(result.to_json(), indent=2))
        return
    _echo(
        f"crawled {result.source}: {result.discovered} attestations, {result.already_known} "
        f"already in the lake, {result.ingested} new: {result.verified} verified, "
        f"{result.not_verified} not verified"
    )
    for reason, n in sorted(result.reasons.items()):
        _echo(f"  not verified ({reason}): {n}")
    _echo(f"lake: {result.lake}")


# -- SQL, queries, reports ---------------------------------------------------------------------
@app.command()
def sql(
    statement: Annotated[str, typer.Argument(help="A SQL statement over the lake's views.")],
    lake: LakeOpt,
    fmt: FormatOpt = "table",
) -> None:
    """Run ad-hoc SQL (DuckDB) over the lake: one view per table."""
    from attestlake.lake import Lake
    from attestlake.render import format_table

    with Lake.open(lake) as opened:
        _echo(format_table(opened.sql(statement), fmt))


@query_app.command("list")
def query_list() -> None:
    """List the saved queries with their severity and parameters."""
    from attestlake.queries import load_queries

    for q in load_queries():
        params = ", ".join(f"{p.name}={p.default}" for p in q.params)
        _echo(f"{q.name:32} {q.severity:9} {q.title}" + (f"  [{params}]" if params else ""))


@query_app.command("run")
def query_run(
    name: Annotated[str, typer.Argument(help="Saved query name (see 'query list').")],
    lake: LakeOpt,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Parameter KEY=VALUE.")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Run one saved query against the lake."""
    from attestlake.lake import Lake
    from attestlake.queries import get_query, run_query
    from attestlake.render import format_table

    query = get_query(name)
    with Lake.open(lake) as opened:
        result = run_query(opened, query, _kv(param, "--param"))
    _echo(format_table(result.table, fmt))


@app.command()
def report(
    lake: LakeOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md or json.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="Exit 4 when a finding reaches this severity."),
    ] = None,
) -> None:
    """Run every saved query and render the compliance report."""
    from attestlake.lake import Lake
    from attestlake.queries import severity_rank
    from attestlake.report import render_json, render_markdown, run_report

    if fmt not in ("md", "json"):
        raise InputError(f"--format must be md or json, not {fmt!r}")
    if fail_on is not None:
        severity_rank(fail_on)
    with Lake.open(lake) as opened:
        rep = run_report(opened)
    text = render_markdown(rep) if fmt == "md" else render_json(rep)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        _echo(f"report written to {output}")
    else:
        _echo(text)
    if fail_on is not None and rep.reaches(fail_on):
        raise FindingsAtSeverity(f"findings at severity {fail_on} or above: {rep.max_severity()}")


# -- demo --------------------------------------------------------------------------------------
@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to create the demo store and lake.")
    ] = Path("attestlake-demo"),
) -> None:
    """Run the whole chain on a sample organisation: collect, push, crawl, report."""
    from attestlake.demo import run_demo
    from attestlake.report import render_markdown

    result = run_demo(directory, log=lambda line: _echo(line, err=True))
    _echo(render_markdown(result.report))
    _echo(f"store:  {result.store}\nlake:   {result.lake}\nreport: {result.report_path}")
    example = "'SELECT workflow, count(*) FROM runs GROUP BY ALL'"
    _echo(f"try:    attestlake sql --lake {result.lake} " + example)


def main() -> None:
    """Entry point: usage errors exit 2 (typer); attestlake errors exit with their own code."""
    try:
        app()
    except Error as exc:
        if _state["verbose"]:
            traceback.print_exc()
        _echo(f"error: {exc.diagnostics()}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
