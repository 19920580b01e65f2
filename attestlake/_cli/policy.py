"""``attestlake policy``: the policy library, and policies evaluated across a lake."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from attestlake._cli.app import LakeOpt, _echo, _kv, app
from attestlake._cli.choices import VERDICT_FORMAT

policy_app = typer.Typer(
    help="Policies as SQL: list the library, and evaluate policies across a lake.",
    no_args_is_help=True,
)
app.add_typer(policy_app, name="policy")

PolicyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--policy",
        help="A policy of the library (see 'policy list') or a path to a .sql file "
        "(repeatable; default: every policy of the library that needs no parameter).",
    ),
]


@policy_app.command("list")
def policy_list() -> None:
    """List the library's policies: name, severity, whether it gates, title, parameters."""
    from attestlake.audit.policies import library

    for p in library():
        params = ", ".join(f"{q.name}={q.default}" if not q.required else q.name for q in p.params)
        gate = "gate" if p.gate else "audit"
        _echo(f"{p.name}  [{p.severity}, {gate}]  {p.title}" + (f"  ({params})" if params else ""))


@policy_app.command("show")
def policy_show(
    name: Annotated[str, typer.Argument(help="Policy name (see 'policy list') or a .sql path.")],
) -> None:
    """Show one policy: title, severity, description, parameters and its SQL."""
    from attestlake.audit.policies import load_policies
    from attestlake.audit.query_files import query_doc

    (policy,) = load_policies([name])
    _echo(f"gate:        {'true' if policy.gate else 'false'}\n" + query_doc(policy))


@policy_app.command("eval")
def policy_eval(
    lake: LakeOpt,
    policy: PolicyOpt = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="POLICY.KEY=VALUE: a parameter of one policy."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="table or json.", callback=VERDICT_FORMAT),
    ] = "table",
) -> None:
    """Evaluate policies across the whole lake: who would fail them (before they are
    enforced). Each successful run is judged as at push: a policy that reads material kinds
    the run has none of is skipped for it. Exits 3 when a gating policy has violations, 0
    otherwise.
    """
    from attestlake.audit.gate import GateRefused
    from attestlake.audit.policies import (
        by_default,
        evaluate,
        library,
        load_policies,
        skipped_reason,
    )
    from attestlake.errors import InputError
    from attestlake.lake.lake import Lake

    chosen = load_policies(policy) if policy else [p for p in library() if by_default(p)]
    params: dict[str, dict[str, str]] = {}
    for key, value in _kv(param, "--param").items():
        name, dot, pname = key.partition(".")
        if not dot or not pname:
            raise InputError(f"--param {key}={value}: give POLICY.KEY=VALUE")
        params.setdefault(name, {})[pname] = value
    with Lake.open(lake) as opened:
        results = evaluate(opened, chosen, params)
    if fmt == "json":
        doc = [
            {
                "policy": r.policy.name,
                "gate": r.policy.gate,
                "severity": r.policy.severity,
                "params": dict(r.params),
                "violations": r.violations,
                "runs": sorted(r.runs()),
                "judged": len(r.judged),
                "passed": len(r.passed()),
                "skipped": len(r.skipped),
                "skipped_runs": sorted(r.skipped),
                "skipped_reason": skipped_reason(r.policy.reads) if r.skipped else None,
                "rows": r.table.to_pylist(),
            }
            for r in results
        ]
        _echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    else:
        for r in results:
            kind = "gate" if r.policy.gate else "audit"
            _echo(
                f"{r.policy.name} [{r.policy.severity}, {kind}]: {r.violations} violation(s) "
                f"in {len(r.runs())} run(s); {len(r.passed())} passed, "
                f"{len(r.skipped)} skipped"
                + (f": {skipped_reason(r.policy.reads)}" if r.skipped else "")
            )
            for sentence in r.sentences()[:20]:
                _echo(f"  - {sentence}")
            if r.violations > 20:
                _echo(f"  ... and {r.violations - 20} more (--format json lists every one)")
    failing = [r.policy.name for r in results if r.policy.gate and r.violations]
    if failing:
        raise GateRefused(f"gating policies with violations: {', '.join(failing)}")
