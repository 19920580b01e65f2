"""A collector step's arguments read without typer give the step exactly what typer gives it,
or are left to typer: the same arguments, the same environment, the same call or none."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestlake._cli import steps
from attestlake._cli.dispatch import command, run
from attestlake._cli.step_args import declared, module_text, read, run_step
from attestlake._cli.step_options import STEPS

ENV_VARS = ("ATTESTLAKE_STATE", "ATTESTLAKE_STORE", "ATTESTLAKE_KEY", "ATTESTLAKE_TRUST")


class _Called(Exception):
    """Raised by the recording step, so that nothing is run."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs


def _record(**kwargs: Any) -> None:
    raise _Called(kwargs)


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """The process's environment with exactly ``env`` of the steps' variables."""
    with mock.patch.dict(os.environ):
        for name in ENV_VARS:
            os.environ.pop(name, None)
        os.environ.update(env)
        yield


def _typer_call(step: str, args: Sequence[str], env: Mapping[str, str]) -> dict[str, Any] | None:
    """What typer calls the step with for ``attest STEP ARGS``, or None when it calls nothing
    (help, a usage error)."""
    with (
        mock.patch.object(steps, step, _record, create=True),
        _environment(env),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        try:
            run(["attest", step, *args])
        except _Called as called:
            return called.kwargs
    return None


def _same(step: str, args: Sequence[str], env: Mapping[str, str] | None = None) -> bool:
    """Whether the two readers agree on ``args``; True when this one read them itself."""
    env = dict(env or {})
    with _environment(env):
        ours = read(step, args, os.environ)
    theirs = _typer_call(step, args, env)
    if ours is not None:
        assert ours == theirs, (step, args, env)
        return True
    return False


def test_the_options_written_ahead_are_typers() -> None:
    """``python -m attestlake._cli.help_pages`` writes them; this fails until it is run after
    a step's options change."""
    attest = command().commands["attest"]  # type: ignore[attr-defined]
    assert declared(attest) == STEPS
    written = Path(__file__).parents[2] / "attestlake" / "_cli" / "step_options.py"
    assert written.read_text(encoding="utf-8") == module_text(STEPS)


CI_STEPS = [
    ("init", ["--contract", "c.yaml", "--workflow", "build", "--project", "shop"]),
    (
        "init",
        [
            "--contract=oci:store#build@2",
            "--workflow",
            "build",
            "--project",
            "shop",
            "--team",
            "web",
            "-a",
            "env=prod",
            "--annotation",
            "tier=1",
            "--dry-run",
            "--to",
            "oci:/srv/store",
            "--key",
            "ci.key",
            "--trust",
            "trust.yaml",
            "--state",
            "s.json",
        ],
    ),
    ("init", ["--contract", "c.yaml", "--workflow", "w", "--project", "p", "--keyless"]),
    ("add", ["--value", "sbom.cdx.json"]),
    ("add", ["--name", "sbom", "--value", "sbom.cdx.json", "-a", "tool=syft"]),
    ("add", ["--value", "hello", "--kind", "string"]),
    ("add", ["--value", "hello", "--kind", "STRING"]),
    ("status", []),
    ("status", ["--json"]),
    ("status", ["--state", "elsewhere/attestation.json"]),
    ("push", []),
    ("push", ["--key", "ci.key", "--to", "oci:/srv/store", "--no-provenance"]),
    ("push", ["--keyless", "--staging", "--bundle-out", "out.json", "--provenance"]),
    ("reset", []),
    ("reset", ["--trigger", "cancellation", "--reason", "cancelled by a newer push"]),
    ("reset", ["--trigger", "Failure"]),
]


@pytest.mark.parametrize(("step", "args"), CI_STEPS, ids=lambda v: str(v)[:40])
def test_what_ci_runs_is_read_without_typer_as_typer_reads_it(step: str, args: list[str]) -> None:
    assert _same(step, args)


@pytest.mark.parametrize(
    "env",
    [
        {"ATTESTLAKE_STATE": "env/state.json"},
        {"ATTESTLAKE_STORE": "oci:/env/store", "ATTESTLAKE_KEY": "env.key"},
        {"ATTESTLAKE_TRUST": "env-trust.yaml", "ATTESTLAKE_KEY": "env.key"},
    ],
)
def test_options_from_the_environment_as_typer_reads_them(env: dict[str, str]) -> None:
    assert _same("push", [], env)
    assert _same("push", ["--to", "oci:/given", "--key", "given.key"], env)  # given wins
    assert _same("init", ["--contract", "c", "--workflow", "w", "--project", "p"], env)


@pytest.mark.parametrize(
    ("step", "args", "env"),
    [
        ("status", ["--help"], {}),
        ("status", ["--jsn"], {}),  # unknown
        ("status", ["--js"], {}),  # an abbreviation
        ("status", ["extra"], {}),
        ("status", ["--json=yes"], {}),
        ("status", ["--json", "--json"], {}),
        ("status", ["--state"], {}),  # no value
        ("status", ["--state", "a", "--state", "b"], {}),  # typer takes the last
        ("status", ["--state", ""], {}),
        ("status", ["--", "--json"], {}),
        ("status", [], {"ATTESTLAKE_STATE": ""}),
        ("add", [], {}),  # --value is required
        ("add", ["--value", "-"], {}),
        ("add", ["--value", "x", "--kind", "nonsense"], {}),
        ("add", ["--value", "x", "-aKEY=VALUE"], {}),
        ("init", ["--contract", "c", "--workflow", "w"], {}),  # --project is required
        ("reset", ["--trigger", "timeout"], {}),
        ("nonsense", [], {}),
    ],
)
def test_anything_else_is_left_to_typer(step: str, args: list[str], env: dict[str, str]) -> None:
    assert not _same(step, args, env)


_VALUES = st.sampled_from(
    ["x", "a=b", "", "-x", "failure", "CANCELLATION", "sbom", "string", "oci:/s", "p/q.json"] * 3
    + ["-"]
)


@st.composite
def _arguments(draw: st.DrawFn) -> tuple[str, list[str], dict[str, str]]:
    """A step's options, mostly well formed (each given once or twice, in any order, in any
    spelling), now and then with a stray token; and some of the environment variables."""
    step = draw(st.sampled_from(sorted(STEPS)))
    required = [o for o in STEPS[step] if o.required and draw(st.integers(0, 9))]
    args: list[str] = []
    for option in draw(
        st.permutations(required + draw(st.lists(st.sampled_from(STEPS[step]), max_size=5)))
    ):
        spelling = draw(st.sampled_from([*option.opts, *option.off]))
        if option.kind == "flag":
            args.append(spelling)
        elif draw(st.booleans()):
            args += [spelling, draw(_VALUES)]
        else:
            args.append(f"{spelling}={draw(_VALUES)}")
    for _ in range(draw(st.integers(0, 9)) // 8):
        stray = draw(st.sampled_from(["--help", "--", "--bogus", "stray", "-a"]))
        args.insert(draw(st.integers(0, len(args))), stray)
    env = draw(st.dictionaries(st.sampled_from(ENV_VARS), st.sampled_from(["", *["from-env"] * 5])))
    return step, args, env


@settings(max_examples=300, deadline=None)
@given(_arguments())
def test_any_arguments_are_read_as_typer_reads_them_or_left_to_it(
    case: tuple[str, list[str], dict[str, str]],
) -> None:
    step, args, env = case
    _same(step, args, env)


def test_a_step_runs_here_and_anything_else_is_left_to_typer(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert run_step(["attest", "status", "--state", missing]) == 1
    assert err.getvalue() == (
        f"error: no attestation in progress ({missing} not found): run 'attestlake attest init' "
        "first\n"
    )
    assert run_step(["attest", "status", "--help"]) is None
    assert run_step(["query", "list"]) is None
    assert run_step(["attest"]) is None


@pytest.mark.parametrize(
    ("raised", "code"), [(KeyboardInterrupt(), 130), (BrokenPipeError(), 1), (SystemExit(3), 3)]
)
def test_a_step_ends_as_typer_ends_it(raised: BaseException, code: int) -> None:
    """Ctrl-C, a reader that went away, an exit code: the same code and output either way."""

    def step(**kwargs: Any) -> None:
        raise raised

    ends = []
    for runner in (run, run_step):
        with (
            mock.patch.object(steps, "status", step),
            mock.patch("attestlake._cli.console.quiet_stdout"),  # leave pytest's stdout be
            contextlib.redirect_stdout(io.StringIO()) as out,
            contextlib.redirect_stderr(io.StringIO()) as err,
        ):
            ends.append((runner(["attest", "status"]), out.getvalue(), err.getvalue()))
    assert ends[0] == ends[1] == (code, "", "")
