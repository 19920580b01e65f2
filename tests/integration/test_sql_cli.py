"""``attestlake sql`` through the real CLI: a statement, a file, stdin, and the prompt (a pty)."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import termios
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.integration.cli_helpers import Result, run_cli
from tests.lakefactory import raw_lake

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def _env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def run_with_stdin(cwd: Path, *args: str, stdin: str) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "attestlake._cli", *args],
        cwd=cwd,
        env={**_env(), "HOME": str(cwd)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_on_terminal(cwd: Path, *args: str, typed: str) -> Result:
    """Run the CLI with stdin on a pseudo-terminal (echo off) and ``typed`` as the keyboard."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "attestlake._cli", *args],
            cwd=cwd,
            env={**_env(), "HOME": str(cwd)},
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(master, typed.encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(slave)
        os.close(master)
    return Result(proc.returncode, out, err)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sqlcli")
    runs = [
        {
            "run_id": f"run-{i}",
            "manifest_digest": f"sha256:{i}" + "0" * 63,
            "project": "payments",
            "workflow": workflow,
            "started_at": T0,
            "run_date": "2024-05-01",
        }
        for i, workflow in enumerate(["build", "release"], start=1)
    ]
    raw_lake(tmp / "lake", {"runs": runs})
    return tmp


def test_a_statement(workdir: Path) -> None:
    r = run_cli(
        workdir, "sql", "--lake", "lake", "SELECT run_id FROM runs ORDER BY 1", "-f", "json"
    )
    assert r.code == 0, r.err
    assert r.json() == [{"run_id": "run-1"}, {"run_id": "run-2"}]
    table = run_cli(workdir, "sql", "--lake", "lake", "SELECT workflow FROM runs ORDER BY 1")
    assert table.out.split() == ["workflow", "--------", "build", "release"]


def test_a_file_of_statements_prints_the_last_result(workdir: Path) -> None:
    (workdir / "q.sql").write_text(
        "-- runs per workflow\n"
        "CREATE TEMP VIEW per_workflow AS\n"
        "  SELECT workflow, count(*) AS n FROM runs GROUP BY ALL;\n"
        "SELECT * FROM per_workflow ORDER BY workflow;\n"
    )
    r = run_cli(workdir, "sql", "--lake", "lake", "--file", "q.sql", "-f", "csv")
    assert r.code == 0, r.err
    assert r.out == "workflow,n\nbuild,1\nrelease,1\n"


def test_sql_from_stdin_when_it_is_not_a_terminal(workdir: Path) -> None:
    r = run_with_stdin(workdir, "sql", "--lake", "lake", "-f", "csv", stdin="SELECT 42 AS answer;")
    assert (r.code, r.out) == (0, "answer\n42\n"), r.err
    empty = run_with_stdin(workdir, "sql", "--lake", "lake", stdin="-- nothing\n")
    assert empty.code == 1 and "no SQL statement given" in empty.err


def test_parquet_output_is_written_atomically(workdir: Path) -> None:
    r = run_cli(workdir, "sql", "--lake", "lake", "SELECT * FROM runs", "-f", "parquet")
    assert r.code == 1 and "--output FILE.parquet" in r.err
    ok = run_cli(
        workdir, "sql", "--lake", "lake", "SELECT * FROM runs", "-f", "parquet", "-o", "o/r.pq"
    )
    assert ok.code == 0, ok.err
    assert ok.out == "" and "2 rows written to o/r.pq" in ok.err
    assert pq.read_table(workdir / "o" / "r.pq").num_rows == 2
    assert os.listdir(workdir / "o") == ["r.pq"]


def test_usage_and_sql_errors(workdir: Path) -> None:
    (workdir / "one.sql").write_text("SELECT 1;")
    both = run_cli(workdir, "sql", "--lake", "lake", "SELECT 1", "--file", "one.sql")
    assert both.code == 1 and "not both" in both.err
    missing = run_cli(workdir, "sql", "--lake", "lake", "--file", "nope.sql")
    assert missing.code == 1 and "nope.sql: cannot read" in missing.err
    bad = run_cli(workdir, "sql", "--lake", "lake", "SELECT nope FROM runs")
    assert bad.code == 1 and bad.err.startswith("error: SQL error: Binder Error")
    nolake = run_cli(workdir, "sql", "--lake", "nowhere", "SELECT 1")
    assert nolake.code == 1 and "error: not a lake: nowhere (no such directory" in nolake.err


def test_the_interactive_prompt(workdir: Path) -> None:
    typed = (
        ".tables\n"
        ".schema runs\n"
        "SELECT run_id\n"
        "  FROM runs ORDER BY run_id;\n"
        "SELECT nope;\n"
        ".schema nope\n"
        ".bogus\n"
        ".format csv\n"
        "SELECT 'still here' AS alive;\n"
        ".quit\n"
        "SELECT 'never run';\n"
    )
    r = run_on_terminal(workdir, "sql", "--lake", "lake", typed=typed)
    assert r.code == 0, r.err
    assert r.out.startswith("attestlake sql on lake: end statements with ';'")
    assert "attestlake> " in r.out and "       ...> " in r.out
    assert "runs" in r.out and "\nverifications" in r.out  # .tables lists every view...
    assert any(line.split()[:2] == ["runs", "2"] for line in r.out.splitlines())  # ...with counts
    assert "started_at" in r.out and "TIMESTAMP WITH TIME ZONE" in r.out  # .schema runs
    assert "run-1" in r.out and "run-2" in r.out  # the statement over two lines
    assert "Binder Error" in r.err  # the bad statement: shown, and the prompt went on
    assert "no table 'nope'" in r.err and "unknown command .bogus" in r.err
    assert "alive\nstill here\n" in r.out  # after .format csv
    assert "never run" not in r.out


def test_the_prompt_ends_at_end_of_input(workdir: Path) -> None:
    r = run_on_terminal(workdir, "sql", "--lake", "lake", typed="SELECT 1 AS one;\nSELECT 2\n\x04")
    assert r.code == 0, r.err
    assert "one\n---\n  1" in r.out
    assert "incomplete statement discarded" in r.err


def test_the_prompt_prints_to_the_terminal_only(workdir: Path) -> None:
    r = run_on_terminal(workdir, "sql", "--lake", "lake", "-o", "x.csv", typed=".quit\n")
    assert r.code == 1 and "interactive prompt prints to the terminal" in r.err


def test_sql_json_keeps_hostile_values_as_data(workdir: Path) -> None:
    r = run_cli(
        workdir, "sql", "--lake", "lake", "SELECT '<script>' || $$'; --$$ AS v", "-f", "json"
    )
    assert r.code == 0, r.err
    assert json.loads(r.out) == [{"v": "<script>'; --"}]


def test_a_failing_query_over_lake_data_exits_cleanly(workdir: Path) -> None:
    """Pins a crash: an error raised while DuckDB read lake data through Arrow datasets made the
    process segfault or hang at exit. The lake is now read by DuckDB itself."""
    for _ in range(5):
        r = run_cli(workdir, "sql", "--lake", "lake", "SELECT CAST(workflow AS INTEGER) FROM runs")
        assert r.code == 1, (r.code, r.err)
        assert "Conversion Error" in r.err


def test_sql_cannot_read_files_outside_the_lake(workdir: Path) -> None:
    outside = workdir / "outside.csv"
    outside.write_text("secret\n42\n")
    r = run_cli(workdir, "sql", "--lake", "lake", f"SELECT * FROM read_csv('{outside}')")
    assert r.code == 1 and "disabled by configuration" in r.err
    assert "42" not in r.out


def test_csv_never_hands_a_spreadsheet_a_formula(tmp_path: Path) -> None:
    """A workflow name is an attestation's claim: as CSV, a formula in it is shown, not run."""
    names = ['=HYPERLINK("http://evil.example","build")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]
    runs = [
        {"run_id": f"run-{i}", "manifest_digest": f"sha256:{i}" + "0" * 63, "workflow": name,
         "run_date": "2024-05-01"}
        for i, name in enumerate(names, start=1)
    ]  # fmt: skip
    raw_lake(tmp_path / "lake", {"runs": runs})
    query = "SELECT workflow, -5 AS n, '-' AS dash FROM runs ORDER BY run_id"
    out = run_cli(tmp_path, "sql", "--lake", "lake", query, "--format", "csv")
    assert out.code == 0, out.err
    rows = list(csv.reader(io.StringIO(out.out)))
    assert rows[0] == ["workflow", "n", "dash"]
    assert [r[0] for r in rows[1:]] == ["'" + name for name in names]
    assert {r[1] for r in rows[1:]} == {"-5"}  # a number is left as it is
    assert {r[2] for r in rows[1:]} == {"'-"}
