"""A collector step's arguments, read without typer.

``attestlake attest init|add|status|push|reset`` runs on every CI build. Reading its options
with typer means importing typer and building every command from its signature, most of a
step's time; so a step's arguments are read here, from the options typer itself declares
(written ahead into :mod:`attestlake._cli.step_options` by ``python -m
attestlake._cli.help_pages``), and the step runs from :mod:`attestlake._cli.steps`.

Only what typer would read the same way is read here: each option once, as ``--name VALUE``,
``--name=VALUE`` or ``-a VALUE``, flags bare, an environment variable for an option not given.
Anything else (help, a usage error, a value typer would refuse, an option given twice, a value
that starts with ``-``, an empty value from the environment) returns None, and typer reads the
arguments as it always did: it prints the same messages, exits with the same codes.
``tests/unit/test_step_args.py`` holds the two readers to the same result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attestlake._cli.step_spec import Option

__all__ = ["declared", "module_text", "read", "run_step"]


def _checks() -> Mapping[str, Callable[[], Sequence[str]]]:
    """The valid values of each checked option, by parameter name."""
    from attestlake._cli.choices import material_kinds, triggers

    return {"kind": material_kinds, "trigger": triggers}


def read(
    step: str, args: Sequence[str], env: Mapping[str, str] = os.environ
) -> dict[str, Any] | None:
    """The keyword arguments of step ``step`` given ``args`` (what follows ``attest STEP``),
    as typer would pass them; None where typer must read them."""
    from attestlake._cli.step_options import STEPS

    options = STEPS.get(step)
    if options is None:
        return None
    by_spelling: dict[str, tuple[Option, bool]] = {}
    for option in options:
        by_spelling.update({o: (option, True) for o in option.opts})
        by_spelling.update({o: (option, False) for o in option.off})
    given: dict[str, Any] = {}
    rest = list(args)
    while rest:
        token = rest.pop(0)
        spelling, equals, value = token.partition("=")
        if not token.startswith("-") or (equals and not spelling.startswith("--")):
            return None  # an argument, or a short option with '='
        found = by_spelling.get(spelling)
        if found is None:
            return None  # --help, --, an unknown or abbreviated option
        option, on = found
        if option.kind == "flag":
            if equals or option.name in given:
                return None
            given[option.name] = on
            continue
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        if value.startswith("-") or (option.name in given and not option.multiple):
            return None
        if option.multiple:
            given.setdefault(option.name, []).append(value)
        else:
            given[option.name] = value
    return _completed(options, given, env)


def _completed(
    options: Sequence[Option], given: dict[str, Any], env: Mapping[str, str]
) -> dict[str, Any] | None:
    """Every option's value: given, else from its environment variable, else its default;
    converted and checked as typer would; None where typer must say why not."""
    out: dict[str, Any] = {}
    for option in options:
        value: Any = given.get(option.name)
        if value is None and option.envvar is not None and option.envvar in env:
            value = env[option.envvar]
            if not value:
                return None  # typer's reading of an empty variable is its own
        if value is None:
            if option.required:
                return None
            value = option.default
        if option.kind == "path" and value is not None:
            if not value:
                return None
            value = Path(value)
        if option.multiple and value is not None:
            value = list(value)
        if option.checked and value is not None:
            from attestlake._cli.choices import spelled

            value = spelled(tuple(_checks()[option.name]()), value)
            if value is None:
                return None
        out[option.name] = value
    return out


def run_step(args: Sequence[str]) -> int | None:
    """Run ``attestlake ARGS`` when it is a collector step whose arguments :func:`read` reads;
    its exit code, or None when typer must run the command."""
    if len(args) < 2 or args[0] != "attest":
        return None
    kwargs = read(args[1], args[2:])
    if kwargs is None:
        return None
    from attestlake._cli import steps
    from attestlake._cli.console import outcome, state

    state["verbose"] = False
    step = getattr(steps, args[1])
    return outcome(lambda: step(**kwargs))


def declared(command: Any) -> dict[str, tuple[Option, ...]]:
    """Every step's options as typer declares them in ``command`` (the Click command of
    ``attest``): what :mod:`attestlake._cli.step_options` holds."""
    checks = _checks()
    steps: dict[str, tuple[Option, ...]] = {}
    for name, step in sorted(command.commands.items()):
        options = []
        for param in step.params:
            flag = bool(getattr(param, "is_flag", False))
            kind = "flag" if flag else ("path" if "Path" in type(param.type).__name__ else "str")
            if kind == "str" and type(param.type).__name__ != "StringParamType":
                raise ValueError(f"attest {name} {param.opts[0]}: a type steps cannot read")
            if param.callback is not None and param.name not in checks:
                raise ValueError(f"attest {name} {param.opts[0]}: a callback steps do not know")
            if param.nargs != 1 or not param.expose_value or getattr(param, "count", False):
                raise ValueError(f"attest {name} {param.opts[0]}: a form steps cannot read")
            if param.envvar is not None and (flag or param.multiple):
                raise ValueError(f"attest {name} {param.opts[0]}: an environment steps cannot read")
            default = param.default
            options.append(
                Option(
                    name=param.name,
                    opts=tuple(param.opts),
                    off=tuple(param.secondary_opts),
                    kind=kind,
                    multiple=bool(param.multiple),
                    envvar=param.envvar,
                    default=str(default) if isinstance(default, Path) else default,
                    required=bool(param.required),
                    checked=param.callback is not None,
                )
            )
        steps[name] = tuple(options)
    return steps


def module_text(steps: Mapping[str, tuple[Option, ...]]) -> str:
    """The source of :mod:`attestlake._cli.step_options` holding ``steps``."""
    lines = [
        '"""Every collector step\'s options as typer declares them. Written by',
        "``python -m attestlake._cli.help_pages`` (do not edit): see "
        ":mod:`attestlake._cli.step_args`.",
        '"""',
        "",
        "from attestlake._cli.step_spec import Option",
        "",
        "STEPS: dict[str, tuple[Option, ...]] = {",
    ]
    for name, options in steps.items():
        lines.append(f"    {name!r}: (")
        lines += [f"        {option!r}," for option in options]
        lines.append("    ),")
    lines += ["}", ""]
    return "\n".join(lines)
