"""Audit commands: ad-hoc SQL, saved queries and reports."""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from attestlake._cli.app import (
    FormatOpt,
    LakeOpt,
    app,
    query_app,
)
from attestlake._cli.choices import OUTPUT_FORMAT, REPORT_FORMAT, SEVERITY, SQL_DIALECT
from attestlake._cli.console import echo, key_values
from attestlake._cli.keys import KeylessOpt, KeyOpt, StagingOpt
from attestlake._cli.signers import optional_signer
from attestlake.errors import FindingsAtSeverity, InputError

if TYPE_CHECKING:
    import pyarrow as pa

    from attestlake.audit.gate import GateResult
    from attestlake.audit.query_files import SavedQuery
    from attestlake.lake.object_store import LakeRoot
    from attestlake.signing.signing import Signer
    from attestlake.verify.trust import TrustPolicy

ResultFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="Output format: table, json, csv or parquet (parquet needs -o).",
        callback=OUTPUT_FORMAT,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout."),
]


def _emit(table: pa.Table, fmt: str, output: Path | None) -> None:
    """Print ``table`` in ``fmt``, or write it to ``output`` (temp file + rename)."""
    from attestlake._internal._atomic import write_atomic
    from attestlake.lake.render import format_table, table_bytes

    if output is None:
        echo(format_table(table, fmt))
        return
    write_atomic(output, table_bytes(table, fmt))
    rows = table.num_rows
    echo(f"{rows} row{'s' if rows != 1 else ''} written to {output}", err=True)


# -- ad-hoc SQL --------------------------------------------------------------------------------


@app.command()
def sql(
    lake: LakeOpt,
    statement: Annotated[
        str | None,
        typer.Argument(help="SQL over the lake's views; none: read --file, stdin or a prompt."),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Run the SQL in this file (';'-separated).")
    ] = None,
    fmt: ResultFormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Run ad-hoc SQL (DuckDB) over the lake: one view per table.

    With no statement and no --file: an interactive prompt on a terminal (.help lists its
    commands), else the SQL is read from stdin. Several statements print the last one's rows.
    """
    from attestlake.lake.lake import Lake
    from attestlake.lake.object_store import lake_root
    from attestlake.lake.results import check_output
    from attestlake.lake.shell import Shell, run_script

    root = lake_root(lake)
    check_output(fmt, output, root)
    if statement is not None and file is not None:
        raise InputError("give a SQL statement or --file, not both")
    text = statement
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--file {file}: cannot read: {exc}") from None
    interactive = text is None and sys.stdin.isatty()
    if interactive and (output is not None or fmt == "parquet"):
        raise InputError("the interactive prompt prints to the terminal: drop --output/parquet")
    with Lake.open(root) as opened:
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
            echo(f"attestlake sql on {lake}: end statements with ';', .help for commands")
            Shell(opened, echo, lambda line: echo(line, err=True), fmt).run(input)
            return
        _emit(run_script(opened, sys.stdin.read() if text is None else text), fmt, output)


# -- saved queries -----------------------------------------------------------------------------
@query_app.command("list")
def query_list(fmt: FormatOpt = "table") -> None:
    """List the saved queries with their severity, title and parameters (with defaults)."""
    from attestlake.audit.query_files import load_queries, query_catalog
    from attestlake.lake.render import format_table

    echo(format_table(query_catalog(load_queries()), fmt))


@query_app.command("show")
def query_show(
    name: Annotated[str, typer.Argument(help="Saved query name (see 'query list').")],
    dialect: Annotated[
        str | None,
        typer.Option(
            "--dialect",
            help="Print only the SQL, in this engine's dialect (transpiled with sqlglot): "
            "duckdb, spark, databricks, trino, bigquery or snowflake.",
            callback=SQL_DIALECT,
        ),
    ] = None,
) -> None:
    """Show one saved query: title, severity, description, parameters and its SQL."""
    from attestlake.audit.query_files import get_query, query_doc

    query = get_query(name)
    if dialect is None:
        echo(query_doc(query))
        return
    from attestlake.audit.dialects import in_dialect

    echo(in_dialect(query, dialect))


@query_app.command("run")
def query_run(
    name: Annotated[str, typer.Argument(help="Saved query name (see 'query list').")],
    lake: LakeOpt,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Parameter KEY=VALUE; dates take '30 days' too."),
    ] = None,
    fmt: ResultFormatOpt = "table",
    output: OutputOpt = None,
    fail_if_rows: Annotated[
        bool,
        typer.Option(
            "--fail-if-rows",
            help="Exit 4 when the query returns a row (after printing or writing them): any "
            "saved query gates a CI job.",
        ),
    ] = False,
) -> None:
    """Run one saved query against the lake (parameters are bound, never pasted into SQL).

    --format json prints the query, its findings (distinct entities), row count, missing
    inputs and rows as one object; a required input the lake lacks (an inventory, a
    published contract) is also noted on stderr. With --fail-if-rows the command exits 4
    when the query returned rows.
    """
    from attestlake._internal._atomic import write_atomic
    from attestlake.audit.queries import run_query
    from attestlake.audit.query_files import get_query
    from attestlake.lake.lake import Lake
    from attestlake.lake.object_store import lake_root
    from attestlake.lake.results import check_output

    root = lake_root(lake)
    check_output(fmt, output, root)
    query = get_query(name)
    with Lake.open(root) as opened:
        result = run_query(opened, query, key_values(param, "--param"))
    for missing in result.missing:
        echo(f"note: {query.name}: input missing: {missing.message}", err=True)
    if fmt != "json":
        _emit(result.table, fmt, output)
    else:
        text = json.dumps(result.json_data(), indent=2, ensure_ascii=False)
        if output is None:
            echo(text)
        else:
            write_atomic(output, text + "\n")
            rows = f"{result.count} row{'s' if result.count != 1 else ''}"
            echo(f"{rows} written to {output}", err=True)
    if fail_if_rows and result.count:
        raise FindingsAtSeverity(
            f"{query.name}: {result.findings} finding(s) in {result.count} row(s) (--fail-if-rows)"
        )


# -- reports -----------------------------------------------------------------------------------
@app.command()
def report(
    lake: LakeOpt,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="md, html, json, sarif (SARIF 2.1.0: GitHub code scanning) or junit (JUnit "
            "XML: every CI's test view).",
            callback=REPORT_FORMAT,
        ),
    ] = "md",
    query: Annotated[
        list[str] | None,
        typer.Option("--query", "-q", help="Run only this saved query (repeatable)."),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            help="An earlier JSON report: show the trend against it (none there yet, as on a "
            "first run: a note, and no trend).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 4 when a finding reaches this severity: info, low, medium, high or "
            "critical (any case).",
            callback=SEVERITY,
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Judge as of this instant: an ISO 8601 date or timestamp (UTC unless it says "
            "otherwise), or a duration before now ('1 day'). The queries' relative dates count "
            "from it, so a lake and --at give the same report every time. Default: now.",
        ),
    ] = None,
) -> None:
    """Run the saved queries and render the compliance report (Markdown, HTML, JSON, SARIF or
    JUnit XML)."""
    from attestlake._internal._atomic import write_atomic
    from attestlake.audit.formats import render_report
    from attestlake.audit.report import run_report, select_queries
    from attestlake.audit.trend import load_previous_if_any
    from attestlake.lake.lake import Lake
    from attestlake.lake.object_store import lake_root
    from attestlake.lake.results import check_outside_lake

    root = lake_root(lake)
    if output is not None:
        check_outside_lake(output, root)
    queries = select_queries(query or [])
    earlier = load_previous_if_any(previous) if previous is not None else None
    if previous is not None and earlier is None:
        echo(f"note: no previous report at {previous} yet: this report has no trend", err=True)
    when = _instant(at) if at is not None else None
    with Lake.open(root) as opened:
        rep = run_report(opened, queries, now=when, previous=earlier)
    text = render_report(rep, fmt)
    if output:
        write_atomic(output, text)
        echo(f"report written to {output}", err=True)
    else:
        echo(text)
    if fail_on is not None:
        rep.fail_on(fail_on)


# -- the deploy gate ---------------------------------------------------------------------------
@app.command()
def gate(
    subject: Annotated[
        str,
        typer.Argument(
            help="The artifact: sha256:<hex>, an image reference (a tag is resolved by the "
            "registry) or a file (hashed).",
            show_default=False,
        ),
    ],
    lake: Annotated[
        str | None,
        typer.Option(
            "--lake",
            metavar="DIR|s3://BUCKET/PREFIX",
            help="Answer from this lake (or give --from).",
        ),
    ] = None,
    stores: Annotated[
        list[str] | None,
        typer.Option(
            "--from",
            help="Answer without a lake, straight from this store (repeatable: the runs' "
            "store and SecOps's store of contracts and inventory): oci:DIR, a directory or "
            "HOST[:PORT]/REPO. Needs --trust.",
        ),
    ] = None,
    trust: Annotated[
        Path | None,
        typer.Option(
            "--trust",
            help="The trust policy: with --lake, the one the lake's verdicts must have been "
            "made under (refused otherwise: run 'attestlake reverify'); with --from, the one "
            "the stores are verified under.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    extra_policies: Annotated[
        list[str] | None,
        typer.Option(
            "--policy",
            help="Also hold the runs to this policy: a library name, a .sql path or a "
            "published STORE#NAME[@REVISION] (verified under --trust); repeatable. The "
            "library's gating policies always apply; one given by name replaces the "
            "library's policy of that name.",
        ),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            help="A material kind the run that built it must have (repeatable), e.g. "
            "SBOM_CYCLONEDX_JSON; SLSA_PROVENANCE: trusted SLSA provenance names the run.",
        ),
    ] = None,
    sarif: Annotated[
        Path | None,
        typer.Option("--sarif", help="Also write the answer as SARIF (GitHub code scanning)."),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="Also write the answer as JUnit XML (CI test results)."),
    ] = None,
    emit_vsa: Annotated[
        Path | None,
        typer.Option(
            "--emit-vsa",
            help="Write the answer as a signed SLSA verification summary (VSA v1) to this file "
            "(needs --key or --keyless), passed or not.",
        ),
    ] = None,
    key: KeyOpt = None,
    keyless: KeylessOpt = False,
    staging: StagingOpt = False,
) -> None:
    """May this artifact ship? Exit 0 only when a verified run built it, that run succeeded,
    its workflow is in the current inventory, its contract revision is the newest SecOps
    published and it violates no gating policy ('attestlake policy list'); otherwise exit 3
    with every reason.

    With --from instead of --lake it answers straight from the stores (admission-style): they
    are read and verified under --trust as a crawl would, and the answer is the one --lake
    gives after a crawl of the same stores.

    --emit-vsa writes the answer as a signed SLSA verification summary attestation, which
    'attestlake verify' and the crawler read.
    """
    from attestlake.audit.gate import GateRefused, check_required, subject_digest
    from attestlake.lake.object_store import lake_root

    signer = _vsa_signer(emit_vsa, key, keyless, staging)
    _gate_source(lake, stores, trust)
    check_required(require or [])
    root = None if lake is None else lake_root(lake)
    digest = subject_digest(subject)
    policy = _gate_trust(root, trust)
    policies = _gate_policies(extra_policies or [], policy)
    if stores:
        from attestlake.audit.gate_from import gate_from_stores

        assert trust is not None  # _gate_source
        result = gate_from_stores(stores, trust, digest, subject, policies, require or []).result
    else:
        from attestlake.audit.gate import gate as run_gate
        from attestlake.lake.lake import Lake

        assert root is not None  # _gate_source
        with Lake.open(root) as opened:
            result = run_gate(opened, digest, subject, policies, require or [])
    _gate_outputs(result, signer, emit_vsa, sarif, junit, policy.digest if policy else None)
    if as_json:
        echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        for line in result.describe():
            echo(line)
    if not result.passed:
        raise GateRefused(f"{subject} may not ship: " + "; ".join(result.reasons))


def _gate_source(lake: str | None, stores: list[str] | None, trust: Path | None) -> None:
    """InputError unless exactly one of --lake and --from is given, and --from with --trust."""
    if (lake is None) == (not stores):
        raise InputError(
            "give --lake LAKE, or --from STORE (repeatable) to answer straight from the stores"
        )
    if stores and trust is None:
        raise InputError(
            "--from needs --trust POLICY: the stores' attestations and SecOps's published "
            "contracts and inventory are verified under it"
        )


def _gate_trust(lake: LakeRoot | None, trust: Path | None) -> TrustPolicy | None:
    """The trust policy, checked against the lake's verdicts when answering from a lake."""
    if trust is None:
        return None
    from attestlake.verify.verify import load_policy

    policy = load_policy(trust)
    if lake is not None:
        from attestlake.crawl.reverify import require_policy

        require_policy(lake, policy)
    return policy


def _gate_policies(named: list[str], trust: TrustPolicy | None) -> list[SavedQuery]:
    """The library's gating policies that need no parameter, and those ``named`` (which
    replace a library policy of the same name)."""
    from attestlake.audit.policies import by_default, library
    from attestlake.audit.published_policies import load_named

    given = load_named(named, trust)
    names = {p.name for p in given}
    return [p for p in library() if p.gate and by_default(p) and p.name not in names] + given


def _gate_outputs(
    result: GateResult,
    signer: Signer | None,
    emit_vsa: Path | None,
    sarif: Path | None,
    junit: Path | None,
    policy_digest: str | None,
) -> None:
    """Write the answer's files: the signed VSA, SARIF and JUnit XML, each if asked for."""
    from attestlake._internal._atomic import write_atomic

    if emit_vsa is not None and signer is not None:
        from attestlake.audit.vsa import signed_summary

        write_atomic(emit_vsa, signed_summary(result, signer, policy_digest).data)
        echo(f"verification summary written to {emit_vsa}", err=True)
    if sarif is not None or junit is not None:
        from attestlake.audit.gate_ci import gate_junit, gate_sarif

        for path, render in ((sarif, gate_sarif), (junit, gate_junit)):
            if path is not None:
                write_atomic(path, render(result))
                echo(f"answer written to {path}", err=True)


def _vsa_signer(out: Path | None, key: Path | None, keyless: bool, staging: bool) -> Signer | None:
    """Who signs the gate's VSA: --key or --keyless, required with --emit-vsa only."""
    given = key is not None or keyless
    if out is None and given:
        raise InputError("--key and --keyless sign the --emit-vsa file: give --emit-vsa")
    if out is not None and not given:
        raise InputError("--emit-vsa needs a signer: give --key PATH or --keyless")
    return optional_signer(key, keyless, staging)


def _instant(text: str) -> datetime:
    from attestlake._internal.durations import instant

    try:
        return instant(text)
    except ValueError as exc:
        raise InputError(f"--at: {exc}") from None
