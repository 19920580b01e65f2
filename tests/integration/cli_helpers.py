"""Run the ``attestlake`` command line: in this process (most tests), or as a subprocess where
the whole process is the point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from typer.testing import CliRunner

from attestlake._cli.dispatch import run
from tests import assets

GITHUB_ENV = assets.env("ci/github-push-main.json")
SECRETS = {
    "GITHUB_TOKEN": "ghs_SECRETtokenValue0123456789",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY",
    "MY_CUSTOM_SECRET": "custom-secret-value-42",
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def _environment(cwd: Path, env: dict[str, str] | None) -> dict[str, str]:
    """A clean environment, as CI gives a command: nothing of the test process's leaks in."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "COLUMNS": "200",
        "ATTESTLAKE_STRICT": os.environ.get("ATTESTLAKE_STRICT", ""),
    }
    return {**base, **(env or {})}


@contextmanager
def _descriptors_captured() -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """File descriptors 1 and 2 redirected to files while the block runs: what native code
    (or anything bypassing ``sys.stdout``) writes is captured too."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            yield out, err
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``attestlake ARGS`` in this process (typer's CliRunner isolation: its own stdout,
    stderr and empty stdin; file descriptors 1 and 2 captured too) from ``cwd`` with only
    ``env`` and a base environment; the exit code is the one the command would exit with
    (:func:`attestlake._cli.run`)."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(_environment(cwd, env))
    os.chdir(cwd)
    try:
        with _descriptors_captured() as native:
            with CliRunner().isolation() as (out, err, _):
                code = run(args)
                sys.stdout.flush()
                sys.stderr.flush()
                printed = [out.getvalue(), err.getvalue()]
            for i, stream in enumerate(native):
                stream.seek(0)
                printed[i] += stream.read()
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return Result(code, printed[0].decode(), printed[1].decode())


def run_cli_process(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run the real ``attestlake`` command in a subprocess, as CI would: for tests where what
    the whole process prints or how it exits is the point (secrets, signals)."""
    proc = subprocess.run(
        [sys.executable, "-m", "attestlake._cli", *args],
        cwd=cwd,
        env=_environment(cwd, env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


CONTRACT = assets.text("contracts/image-sbom-optional-rootfs.yaml")

SBOM = assets.data("sboms/cyclonedx-two-debian-libs.json")


def image(n: int) -> str:
    return f"registry.example.com/cyberdyne/skynet@sha256:{n:064x}"


def setup_workspace(tmp: Path) -> None:
    (tmp / "contract.yaml").write_text(CONTRACT)
    (tmp / "sbom.json").write_text(json.dumps(SBOM))
    (tmp / "trust.yaml").write_text("keys:\n  - path: ci.pub\n")
    assert run_cli(tmp, "keys", "generate", "--out", "ci").code == 0


def attest_run(tmp: Path, store: str, n: int, env: dict[str, str] | None = None) -> Result:
    """init, add image + SBOM, push: one complete run."""
    e = {**GITHUB_ENV, "GITHUB_RUN_ID": str(4242 + n), **(env or {})}
    for args in (
        (
            "attest",
            "init",
            "--contract",
            "contract.yaml",
            "--workflow",
            "build",
            "--project",
            "skynet",
            "--team",
            "ai",
        ),
        ("attest", "add", "--name", "image", "--value", image(n)),
        ("attest", "add", "--name", "sbom", "--value", "sbom.json"),
    ):
        r = run_cli(tmp, *args, env=e)
        assert r.code == 0, r.err
    return run_cli(tmp, "attest", "push", "--key", "ci.key", "--to", store, env=e)
