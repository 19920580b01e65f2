"""Starting the CLI for help or for the collector imports none of the lake's engines: CI runs
``attestlake attest`` on every build, and pyarrow, deltalake, duckdb and polars would make
each step pay for them."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attestlake._cli.dispatch import run

ENGINES = ("pyarrow", "deltalake", "duckdb", "polars")
SCRIPT = f"""
import contextlib, io, json, sys
from attestlake._cli.dispatch import run
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = run(sys.argv[1:])
print(json.dumps({{"code": code, "help": "Usage" in out.getvalue(),
                  "engines": sorted(m for m in {ENGINES!r} if m in sys.modules)}}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["attest", "--help"],
        ["attest", "init", "--help"],
        ["attest", "add", "--help"],
        ["attest", "push", "--help"],
        ["attest", "status", "--help"],
        ["attest", "reset", "--help"],
    ],
    ids=lambda args: " ".join(args),
)
def test_help_imports_no_lake_engine(tmp_path: Path, args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer == {"code": 0, "help": True, "engines": []}


MAIN = """
import atexit, sys
atexit.register(lambda: sys.stderr.write(repr(sorted(
    m for m in ("typer", "attestlake._cli.dispatch", "yaml", "cryptography") if m in sys.modules
))))
sys.argv = ["attestlake", *sys.argv[1:]]
from attestlake._cli import main
main()
"""


def _attestlake(tmp_path: Path, args: list[str], columns: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": columns},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize(
    "args", [["--help"], ["attest", "--help"], ["attest", "init", "--help"], ["--version"]]
)
def test_help_and_version_print_without_building_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """The page written ahead is printed as the process's whole output, byte for byte what
    typer prints, and neither typer nor the collector's modules are imported for it."""
    code, out, imported = _attestlake(tmp_path, args, "100")
    assert (code, imported) == (0, "[]")
    monkeypatch.setenv("COLUMNS", "100")
    with contextlib.redirect_stdout(io.StringIO()) as typer_out:
        assert run(args) == 0
    assert out == typer_out.getvalue()


def test_a_narrow_terminal_gets_typers_own_wrapping(tmp_path: Path) -> None:
    code, out, imported = _attestlake(tmp_path, ["attest", "init", "--help"], "60")
    assert code == 0
    assert "typer" in imported
    assert max(len(line) for line in out.splitlines()) <= 58
    assert out != _attestlake(tmp_path, ["attest", "init", "--help"], "100")[1]


def test_anything_but_help_and_collector_steps_runs_typer(tmp_path: Path) -> None:
    code, out, err = _attestlake(tmp_path, ["attest", "--help", "extra"], "100")
    assert code == 0  # typer prints the group's help for it
    assert out.startswith("Usage: attestlake attest") and "typer" in err
    code, out, err = _attestlake(tmp_path, ["attest", "status", "--jsn"], "100")
    assert code == 2  # a usage error: typer's own message
    assert "No such option: --jsn" in err and "typer" in err


CONTRACT = """\
apiVersion: attestlake.dev/v1
kind: Contract
metadata:
  name: start-up
  revision: 1
spec:
  materials:
    - name: notes
      type: STRING
"""


def _run_state(path: Path) -> dict[str, object] | None:
    """The run in progress, but for the time it started."""
    if not path.exists():
        return None
    state = json.loads(path.read_bytes())
    assert state.pop("startedAt")
    return dict(state)


def _typer_run(args: list[str]) -> tuple[int, str, str]:
    with (
        contextlib.redirect_stdout(io.StringIO()) as out,
        contextlib.redirect_stderr(io.StringIO()) as err,
    ):
        code = run(args)
    return code, out.getvalue(), err.getvalue()


def test_collector_steps_run_without_typer_as_typer_runs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI job's steps, each run as ``attestlake`` runs it (no typer, no engine) and, on a
    copy of the run in progress, through typer: the same output, exit codes and state."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contract.yaml").write_text(CONTRACT, encoding="utf-8")
    for name in ("GITHUB_ACTIONS", "ATTESTLAKE_STATE", "ATTESTLAKE_STORE", "ATTESTLAKE_KEY"):
        monkeypatch.delenv(name, raising=False)
    init = ["--contract", "contract.yaml", "--workflow", "build", "--project", "shop"]
    init += ["--dry-run", "--run-id", "run-1", "-a", "env=ci"]
    sequence = [
        (["attest", "init", *init], 0),
        (["attest", "status"], 3),  # the contract's material is missing
        (["attest", "status", "--json"], 3),
        (["attest", "add", "--name", "notes", "--value", "hello", "--kind", "STRING"], 0),
        (["attest", "status"], 0),
        (["attest", "push", "--to", "oci:store"], 1),  # no signer
        (["attest", "reset", "--trigger", "timeout"], 2),  # a usage error: typer's
    ]
    for args, expected in sequence:
        state = tmp_path / ".attestlake" / "attestation.json"
        before = state.read_bytes() if state.exists() else None
        code, out, imported = _attestlake(tmp_path, args, "100")
        assert code == expected, (args, imported)
        assert ("typer" in imported) == (expected == 2), (args, imported)
        assert not any(engine in imported for engine in ENGINES)
        if args[1] in ("status", "add"):  # the contract is read from its parsed form
            assert "yaml" not in imported, args
        after = _run_state(state)
        if before is not None:  # typer's run of the same step on the state as it was
            state.write_bytes(before)
        elif state.exists():
            state.unlink()
        typer_code, typer_out, typer_err = _typer_run(args)
        assert (typer_code, typer_out) == (code, out), args
        assert imported.startswith(typer_err), args  # then the modules imported
        assert _run_state(state) == after, args
