"""The README, run as written: every command of its CLI session and every Python block, in
order, in one temporary directory, against a real registry and the demo lake.

What the test supplies, and why (the README takes these as the reader's own):

- ``registry.example.com`` is a registry of the test's own (``docker-registry`` on
  ``127.0.0.1:PORT``, so that ``HOST/*`` lists what the session pushed and nothing else):
  every occurrence in a command is replaced by that address, nothing else is changed;
- ``contract.yaml`` and ``trust.yaml`` are the README's own contract and trust policy blocks;
  ``workflows.yaml`` is the inventory block of ``docs/collector.md``, ``runs_name_a_team.sql``
  the policy block of ``docs/policies.md``; ``sbom.cdx.json`` is a
  CycloneDX SBOM; the image ``registry.example.com/skynet:1.0`` is pushed to the registry;
- ``downloaded-bundles/`` holds the two files ``attest push --bundle-out`` wrote (bundles
  downloaded from elsewhere, as far as the crawl can tell);
- the ``attest`` commands run with GitHub Actions' variables: the README's contract allows
  that runner only, and the session says they run in CI;
- ``attestlake-demo/`` is the demo (``attestlake demo``) that the Python blocks open;
- ``s3://bucket/...`` is a bucket of an S3 endpoint of the test's own (moto's S3 on
  127.0.0.1), whose address and credentials a command that names it gets in the usual
  ``AWS_*`` variables.

Each command must exit 0, or N where its comment ends with ``(exit N)``. The interactive
prompt (a comment ``interactive prompt: A, B, C``) runs in a pseudo-terminal where A, B and C
are typed. The quick start's two commands install things: they are checked to be the two
scripts, not run.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import select
import shlex
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from attestlake.demo.demo import DemoResult
from tests.integration.cli_helpers import GITHUB_ENV, run_cli
from tests.integration.collector_helpers import push_image
from tests.integration.registry_server import RegistryServer
from tests.integration.s3_server import S3Server

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_HOST = "registry.example.com"
SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "metadata": {"component": {"type": "container", "name": "skynet", "version": "1.0"}},
    "components": [{"type": "library", "name": "zlib", "purl": "pkg:deb/debian/zlib@1.2.13"}],
}


@dataclass(frozen=True)
class Command:
    line: str  # as the README shows it (continuation lines joined)
    args: list[str]
    comment: str

    @property
    def expected_code(self) -> int:
        stated = re.search(r"\(exit (\d+)\)$", self.comment)
        return int(stated[1]) if stated else 0

    @property
    def typed(self) -> list[str] | None:
        """What to type at the prompt, if the comment says the command is interactive."""
        _, interactive, listed = self.comment.partition("interactive prompt:")
        return [item.strip() for item in listed.split(",")] if interactive else None


# -- reading the README ------------------------------------------------------------------------
def section(text: str, title: str) -> str:
    body = text.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.S | re.M)


def split_comment(line: str) -> tuple[str, str]:
    """``line`` cut at its shell comment: a ``#`` that starts a word outside quotes."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i], line[i + 1 :].strip()
    return line, ""


def commands(script: str) -> list[Command]:
    """The commands of a shell block: continuation lines joined, comment lines skipped."""
    out: list[Command] = []
    pending = ""
    for raw in script.splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        code, comment = split_comment(raw)
        if code.rstrip().endswith("\\"):
            pending += code.rstrip()[:-1] + " "
            continue
        line = (pending + code).strip()
        pending = ""
        out.append(Command(line, shlex.split(line), comment))
    assert not pending, f"a command ends with a backslash: {pending!r}"
    return out


def yaml_block(text: str, marker: str) -> str:
    [found] = [b for b in blocks(text, "yaml") if marker in b]
    return found


# -- running it --------------------------------------------------------------------------------
def run_in_terminal(cwd: Path, args: list[str], typed: list[str]) -> tuple[int, str]:
    """``attestlake ARGS`` with a pseudo-terminal as stdin, stdout and stderr, ``typed`` typed
    into it; the exit code and everything the terminal showed."""
    master, slave = os.openpty()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "TERM": "dumb"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "attestlake._cli", *args],
        cwd=cwd,
        env={**env, "LANG": "C.UTF-8"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    os.write(master, "".join(f"{line}\n" for line in typed).encode())
    shown = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed, the command ended
                break
            if not chunk:
                break
            shown += chunk
        return proc.wait(timeout=10), shown.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def prepare(tmp: Path, registry: RegistryServer, demo: DemoResult) -> None:
    """The files and the image the README's session takes as given (see the module doc)."""
    (tmp / "contract.yaml").write_text(yaml_block(README, "kind: Contract"))
    policy = yaml_block(README, "trusted_root:")  # its declared_state names the README's host
    (tmp / "trust.yaml").write_text(policy.replace(README_HOST, registry.host))
    collector_doc = (ROOT / "docs" / "collector.md").read_text(encoding="utf-8")
    (tmp / "workflows.yaml").write_text(yaml_block(collector_doc, "kind: Inventory"))
    policies_doc = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    [policy_file] = [b for b in blocks(policies_doc, "sql") if "-- title:" in b]
    (tmp / "runs_name_a_team.sql").write_text(policy_file)
    digest = push_image(registry.url, "skynet", "1.0")
    # the image's SBOM, as a scanner of the image writes it: its main component is the image
    sbom = json.loads(json.dumps(SBOM))
    sbom["metadata"]["component"]["hashes"] = [{"alg": "SHA-256", "content": digest[7:]}]
    (tmp / "sbom.cdx.json").write_text(json.dumps(sbom))
    (tmp / "attestlake-demo").symlink_to(demo.directory, target_is_directory=True)


def after(tmp: Path, command: Command) -> None:
    """What the reader brings between two commands: the downloaded bundles before the crawl
    of that folder."""
    if command.args[1:3] == ["attest", "push"]:
        (tmp / "downloaded-bundles").mkdir()
        for name in ("attestation.json", "attestation.provenance.json"):
            (tmp / "downloaded-bundles" / name).write_bytes((tmp / name).read_bytes())


def run_command(tmp: Path, command: Command, host: str, s3_env: dict[str, str]) -> tuple[int, str]:
    args = [arg.replace(README_HOST, host) for arg in command.args]
    assert args[0] == "attestlake", command.line
    if command.typed is not None:
        return run_in_terminal(tmp, args[1:], command.typed)
    env = GITHUB_ENV if args[1] == "attest" else None
    if any(arg.startswith("s3://") for arg in args):
        env = s3_env
    result = run_cli(tmp, *args[1:], env=env)
    return result.code, result.out + result.err


# -- the tests ---------------------------------------------------------------------------------
def test_the_quick_start_is_the_two_scripts() -> None:
    [quick] = blocks(section(README, "Quick start"), "sh")
    assert [c.args for c in commands(quick)] == [["scripts/demo"], ["scripts/test"]]
    for script in ("scripts/demo", "scripts/test"):
        assert os.access(ROOT / script, os.X_OK), script
    # '. .venv/bin/activate' puts the command on PATH: the package declares it.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["attestlake"] == "attestlake._cli:main"
    assert "`. .venv/bin/activate`" in section(README, "Quick start")


def test_every_library_name_the_readme_gives_exists() -> None:
    names = set(re.findall(r"`(attestlake(?:\.[A-Za-z_]+)+)`", README))
    assert "attestlake.collect.collector.Attestation" in names
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                found: Any = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attr in parts[cut:]:
                found = getattr(found, attr)  # AttributeError names what the README got wrong
            break


@pytest.mark.registry
def test_the_readme_runs_as_written(
    tmp_path: Path,
    own_registry: RegistryServer,
    demo: DemoResult,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = own_registry
    [session] = blocks(section(README, "A CLI session"), "sh")
    prepare(tmp_path, registry, demo)
    ran = []
    s3 = S3Server().start()
    try:
        s3.create_bucket("bucket")
        for command in commands(session):
            code, printed = run_command(tmp_path, command, registry.host, s3.env())
            assert code == command.expected_code, f"{command.line}\n{printed}"
            ran.append((command, printed))
            after(tmp_path, command)
    finally:
        s3.stop()
    # The whole session, not a part of it: every line that starts a command was run.
    assert len(ran) == sum(line.startswith("attestlake ") for line in session.splitlines()) > 25

    def shown(start: str) -> str:
        """What the (last) command that starts with ``attestlake START`` printed."""
        return [printed for c, printed in ran if c.line.startswith(f"attestlake {start}")][-1]

    assert "contract container-build revision 2" in shown("contract pull")
    assert "inventory cyberdyne revision 1 -> workflows.yaml" in shown("inventory pull")
    assert "added image (CONTAINER_IMAGE) sha256:" in shown("attest add --value")
    assert "this run was already pushed as a success" in shown("attest reset")
    assert "all 2 verified" in shown("verify")
    terminal = next(printed for c, printed in ran if c.typed)
    assert "attestlake> " in terminal and "run_id" in terminal  # '.schema runs' was answered
    assert "no previous report at last.json yet" in shown("report --lake lake --format html")
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    sarif = json.loads((tmp_path / "attestlake.sarif").read_text())
    assert (
        sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "attestlake"
    )

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    python = blocks(section(README, "Python API"), "python")
    assert len(python) == 2
    for block in python:
        exec(compile(block, "README.md", "exec"), namespace)  # the README's own code
    runs = namespace["lake"].sql("SELECT count(*) AS n FROM runs").column("n")[0].as_py()
    assert runs > 100  # the demo lake, not an empty one
    assert namespace["report"].results
