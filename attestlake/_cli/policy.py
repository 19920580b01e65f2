"""``attestlake policy``: the policy library, policies published to a store, and policies
evaluated across a lake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from attestlake._cli.app import LakeOpt, app, command_group
from attestlake._cli.choices import VERDICT_FORMAT
from attestlake._cli.console import echo, key_values
from attestlake._cli.keys import KeylessOpt, KeyOpt, StagingOpt
from attestlake._cli.publishing import (
    FromOpt,
    JsonOpt,
    OutOpt,
    ToOpt,
    UnsignedOpt,
    _declarer,
    _list,
    _print_published,
    _write,
)
from attestlake._cli.signers import load_trust

policy_app = command_group(
    "Policies as SQL: the library, policies published to a store (push, pull), and "
    "policies evaluated across a lake."
)
app.add_typer(policy_app, name="policy")

PolicyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--policy",
        help="A policy of the library (see 'policy list'), a path to a .sql file, or a "
        "published policy STORE#NAME[@REVISION] (needs --trust) (repeatable; default: every "
        "policy of the library that needs no parameter).",
    ),
]
TrustOpt = Annotated[
    Path | None,
    typer.Option(
        "--trust",
        help="Trust policy: a published policy (STORE#NAME) is used only when its "
        "declared_state names the store and a signer verifies the policy's declaration.",
    ),
]
ListFromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="List the policies published to this store (oci:DIR, a directory or "
        "HOST[:PORT]/REPO) instead of the library.",
    ),
]


@policy_app.command("list")
def policy_list(
    store: ListFromOpt = None,
    name: Annotated[
        str | None, typer.Option("--name", help="With --from: only this policy.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the library's policies (name, severity, whether it gates, title, parameters), or
    with --from the policy revisions published to a store."""
    from attestlake.audit.policies import library

    if store is not None:
        _list(store, "policy", name, as_json)
        return
    if name is not None or as_json:
        from attestlake.errors import InputError

        raise InputError("--name and --json list a store's published policies: give --from")
    for p in library():
        params = ", ".join(f"{q.name}={q.default}" if not q.required else q.name for q in p.params)
        gate = "gate" if p.gate else "audit"
        echo(f"{p.name}  [{p.severity}, {gate}]  {p.title}" + (f"  ({params})" if params else ""))


@policy_app.command("show")
def policy_show(
    name: Annotated[
        str,
        typer.Argument(
            help="Policy name (see 'policy list'), a .sql path or STORE#NAME[@REVISION]."
        ),
    ],
    trust: TrustOpt = None,
) -> None:
    """Show one policy: title, severity, description, parameters and its SQL."""
    from attestlake.audit.published_policies import load_named
    from attestlake.audit.query_files import query_doc

    (policy,) = load_named([name], load_trust(trust))
    echo(f"gate:        {'true' if policy.gate else 'false'}\n" + query_doc(policy))


@policy_app.command("eval")
def policy_eval(
    lake: LakeOpt,
    policy: PolicyOpt = None,
    trust: TrustOpt = None,
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
    from attestlake.audit.policies import by_default, evaluate, library, skipped_reason
    from attestlake.audit.published_policies import load_named
    from attestlake.errors import InputError
    from attestlake.lake.lake import Lake
    from attestlake.lake.object_store import lake_root

    chosen = (
        load_named(policy, load_trust(trust)) if policy else [p for p in library() if by_default(p)]
    )
    params: dict[str, dict[str, str]] = {}
    for key, value in key_values(param, "--param").items():
        name, dot, pname = key.partition(".")
        if not dot or not pname:
            raise InputError(f"--param {key}={value}: give POLICY.KEY=VALUE")
        params.setdefault(name, {})[pname] = value
    with Lake.open(lake_root(lake)) as opened:
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
        echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    else:
        for r in results:
            kind = "gate" if r.policy.gate else "audit"
            echo(
                f"{r.policy.name} [{r.policy.severity}, {kind}]: {r.violations} violation(s) "
                f"in {len(r.runs())} run(s); {len(r.passed())} passed, "
                f"{len(r.skipped)} skipped"
                + (f": {skipped_reason(r.policy.reads)}" if r.skipped else "")
            )
            for sentence in r.sentences()[:20]:
                echo(f"  - {sentence}")
            if r.violations > 20:
                echo(f"  ... and {r.violations - 20} more (--format json lists every one)")
    failing = [r.policy.name for r in results if r.policy.gate and r.violations]
    if failing:
        raise GateRefused(f"gating policies with violations: {', '.join(failing)}")


# -- published policies ------------------------------------------------------------------------
@policy_app.command("push")
def policy_push(
    file: Annotated[Path, typer.Argument(help="The policy .sql file (its name is the file's).")],
    to: ToOpt,
    revision: Annotated[
        int | None,
        typer.Option(
            "--revision",
            min=1,
            help="Publish as this revision (default: the next one); refused when it holds "
            "another file.",
        ),
    ] = None,
    key: KeyOpt = None,
    keyless: KeylessOpt = False,
    staging: StagingOpt = False,
    unsigned: UnsignedOpt = False,
) -> None:
    """Publish a policy: a new immutable revision, and 'latest' moves to it.

    Its declaration is signed with SecOps's --key or --keyless identity: crawlers, 'policy
    pull' and 'gate --policy STORE#NAME' trust a policy only from a store, and signed by a
    signer, that the trust policy's declared_state names. The same bytes again change nothing.
    """
    from attestlake.audit.published_policies import publish_policy
    from attestlake.store import open_store

    signer = _declarer(key, keyless, staging, unsigned)
    store = open_store(to)
    try:
        result = publish_policy(store, file, revision=revision, signer=signer)
    finally:
        store.close()
    _print_published("policy", store.ref, result)


@policy_app.command("pull")
def policy_pull(
    name: Annotated[str, typer.Argument(help="The published policy's name.")],
    store: FromOpt,
    revision: Annotated[
        int | None, typer.Option("--revision", min=1, help="This revision (default: latest).")
    ] = None,
    trust: TrustOpt = None,
    unverified: Annotated[
        bool,
        typer.Option(
            "--unverified", help="Fetch it without verifying its declaration (no --trust)."
        ),
    ] = False,
    out: OutOpt = None,
) -> None:
    """Fetch a published policy revision (the exact bytes that were published), verified:
    from a store the trust policy's declared_state names, its declaration signed by one of
    its signers for exactly this file, name and revision."""
    from attestlake.audit.published_policies import pull_policy
    from attestlake.contracts.publish import valid_name
    from attestlake.errors import InputError

    if not valid_name("policy", name):
        raise InputError(
            f"not a policy name: {name!r} (lower-case letters, digits, '_' and '-'; pin a "
            "revision with --revision)"
        )
    if (trust is None) == (not unverified):
        raise InputError(
            "give --trust POLICY (a published policy is used only when its declaration "
            "verifies) or --unverified"
        )
    pin = f"@{revision}" if revision is not None else ""
    pulled = pull_policy(f"{store}#{name}{pin}", load_trust(trust))
    _write(pulled.raw, out)
    if out is not None:
        r, who = pulled.revision, pulled.verdict
        signed = f", verified: signed by {who.signer}" if who else ", not verified (--unverified)"
        echo(f"policy {r.name} revision {r.revision} ({r.digest}){signed} -> {out}")
