"""Commands for SecOps: lint, publish, pull and list contracts and the workflow inventory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from attestlake._cli.app import app, command_group, contract_app
from attestlake._cli.console import echo
from attestlake._cli.keys import KeylessOpt, KeyOpt, PolicyTrustOpt, StagingOpt
from attestlake._cli.signers import load_trust, optional_signer
from attestlake.errors import InputError

if TYPE_CHECKING:
    from attestlake.contracts.publish import PublishResult
    from attestlake.signing.signing import Signer

inventory_app = command_group(
    "Lint, publish and pull the workflow inventory (workflows, owners, teams, cadence)."
)
app.add_typer(inventory_app, name="inventory")

ToOpt = Annotated[
    str,
    typer.Option(
        "--to", envvar="ATTESTLAKE_STORE", help="Store: oci:DIR, a directory or HOST[:PORT]/REPO."
    ),
]
FromOpt = Annotated[
    str,
    typer.Option(
        "--from", envvar="ATTESTLAKE_STORE", help="Store: oci:DIR, a directory or HOST[:PORT]/REPO."
    ),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write the file here (default: stdout).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
UnsignedOpt = Annotated[
    bool,
    typer.Option(
        "--unsigned",
        help="Publish without a signed declaration: no crawler trusts it as declared state.",
    ),
]


def _declarer(key: Path | None, keyless: bool, staging: bool, unsigned: bool) -> Signer | None:
    """Who signs the declaration of what SecOps publishes (--key or --keyless), or nobody with
    --unsigned; an InputError without either."""
    signer = optional_signer(key, keyless, staging)
    if (signer is None) == (not unsigned):
        raise InputError(
            "give one of --key PATH or --keyless (SecOps's signer: crawlers trust contracts and "
            "inventories only when the trust policy's declared_state names the store and the "
            "signer), or --unsigned"
        )
    return signer


def _signed_by(signer: str | None) -> str:
    return f", declaration signed by {signer}" if signer else ", unsigned (--unsigned)"


def _print_published(kind: str, store_ref: str, result: PublishResult) -> None:
    """What ``contract push`` and ``policy push`` print: the revision
    published (or unchanged) and the references that name it."""
    r = result.revision
    ref = f"{store_ref}#{r.name}"
    if result.unchanged:
        echo(f"unchanged: {kind} {r.name} revision {r.revision} already has this content")
    else:
        since = f" (was {result.previous})" if result.previous else ""
        echo(
            f"published {kind} {r.name} revision {r.revision}{since}, digest {r.digest}"
            + _signed_by(r.signer)
        )
    echo(f"  latest: {ref}\n  pinned: {ref}@{r.revision}")


def _write(raw: bytes, out: Path | None) -> None:
    if out is None:
        echo(raw.decode("utf-8"))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(raw)


def _list(store_ref: str, kind: str, name: str | None, as_json: bool) -> None:
    from attestlake.contracts.publish import latest, revisions
    from attestlake.store import open_store

    store = open_store(store_ref)
    found = list(revisions(store, kind, name))
    newest = {r.name: getattr(latest(store, kind, r.name), "revision", None) for r in found}
    rows = [
        {
            "name": r.name,
            "revision": r.revision,
            "created": r.created,
            "digest": r.digest,
            "latest": newest[r.name] == r.revision,
            "reference": f"{store.ref}#{r.name}@{r.revision}",
        }
        for r in found
    ]
    if as_json:
        echo(json.dumps(rows, indent=2))
        return
    if not rows:
        echo(f"no {kind} published in {store.ref}")
        return
    for row in rows:
        mark = "  (latest)" if row["latest"] else ""
        echo(
            f"{row['name']}  r{row['revision']}  {row['created']}  {str(row['digest'])[:19]}…{mark}"
        )


# -- contracts ---------------------------------------------------------------------------------
@contract_app.command("lint")
def contract_lint(
    files: Annotated[list[Path], typer.Argument(help="Contract YAML files.")],
    trust: PolicyTrustOpt = None,
) -> None:
    """Check contract files; print OK or the field and line that is wrong.

    The attestlake policies a contract names are read (a published one,
    STORE#NAME[@REVISION], pulled and verified under --trust), their parameters checked, and
    each is run once on an empty lake, so a policy that cannot run fails here, not at push.
    """
    from attestlake.contracts.contracts import load_contract

    for f in files:
        c = load_contract(f)
        bound = []
        if c.policies:
            from attestlake.audit.push_policies import check_policies

            bound = check_policies(c, f.resolve().parent, load_trust(trust))
        echo(
            f"OK {f}: contract {c.name} revision {c.revision}, {len(c.materials)} materials, "
            f"digest {c.digest}"
        )
        for group in c.groups():
            echo(f"  group {group.name}: at least one of {group.describe()}")
        ignored = c.ignored_policies_warning()
        if ignored:
            echo(f"warning: {ignored}", err=True)
        if bound:
            echo(
                "  policies: "
                + ", ".join(
                    f"{b.query.name} ({'gate' if b.query.gate else 'no gate'})" for b in bound
                )
            )


@contract_app.command("push")
def contract_push(
    file: Annotated[Path, typer.Argument(help="The contract YAML file.")],
    to: ToOpt,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Publish under this name (default: metadata.name)."),
    ] = None,
    key: KeyOpt = None,
    keyless: KeylessOpt = False,
    staging: StagingOpt = False,
    unsigned: UnsignedOpt = False,
) -> None:
    """Publish a contract: a new immutable revision, and 'latest' moves to it.

    Its declaration is signed with SecOps's --key or --keyless identity: crawlers trust a
    contract only from a store, and signed by a signer, that the trust policy's declared_state
    names. The same bytes again change nothing. Collectors then use STORE#NAME (latest) or
    STORE#NAME@REVISION with 'attest init --contract'.
    """
    from attestlake.contracts.contracts import load_contract
    from attestlake.contracts.publish import publish_contract
    from attestlake.store import open_store

    contract = load_contract(file)
    signer = _declarer(key, keyless, staging, unsigned)
    ignored = contract.ignored_policies_warning()
    if ignored:
        echo(f"warning: {ignored}", err=True)
    store = open_store(to)
    try:
        result = publish_contract(store, contract, name=name, signer=signer)
    finally:
        store.close()
    _print_published("contract", store.ref, result)


@contract_app.command("pull")
def contract_pull(
    reference: Annotated[
        str, typer.Argument(help="STORE#NAME (latest), STORE#NAME@REVISION or @sha256:<hex>.")
    ],
    out: OutOpt = None,
) -> None:
    """Fetch a published contract revision (the exact bytes that were published)."""
    from attestlake.contracts.publish import open_reference, pull

    ref, store = open_reference(reference)
    revision, raw = pull(store, "contract", ref)
    _write(raw, out)
    if out is not None:
        echo(f"contract {revision.name} revision {revision.revision} ({revision.digest}) -> {out}")


@contract_app.command("list")
def contract_list(
    store: FromOpt,
    name: Annotated[str | None, typer.Option("--name", help="Only this contract.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List published contract revisions with their dates and digests."""
    _list(store, "contract", name, as_json)


# -- inventory ---------------------------------------------------------------------------------
@inventory_app.command("lint")
def inventory_lint(file: Annotated[Path, typer.Argument(help="The inventory YAML file.")]) -> None:
    """Check an inventory file; print OK or the field and line that is wrong."""
    from attestlake.contracts.inventory import load_inventory

    inv = load_inventory(file)
    echo(f"OK {file}: inventory {inv.name}, {len(inv.workflows)} workflows")


@inventory_app.command("push")
def inventory_push(
    file: Annotated[Path, typer.Argument(help="The inventory YAML file (workflows.yaml).")],
    to: ToOpt,
    key: KeyOpt = None,
    keyless: KeylessOpt = False,
    staging: StagingOpt = False,
    unsigned: UnsignedOpt = False,
) -> None:
    """Publish the inventory: a new immutable revision, and 'latest' moves to it.

    Its declaration is signed with SecOps's --key or --keyless identity: crawlers trust an
    inventory only from a store, and signed by a signer, that the trust policy's
    declared_state names.
    """
    from attestlake.contracts.inventory import load_inventory
    from attestlake.contracts.publish import publish
    from attestlake.store import open_store

    inv = load_inventory(file)
    signer = _declarer(key, keyless, staging, unsigned)
    store = open_store(to)
    result = publish(store, "inventory", inv.name, inv.raw, signer=signer)
    r = result.revision
    if result.unchanged:
        echo(f"unchanged: inventory {r.name} revision {r.revision} already has this content")
    else:
        echo(
            f"published inventory {r.name} revision {r.revision}, {len(inv.workflows)} workflows"
            + _signed_by(r.signer)
        )
    echo(f"  latest: {store.ref}#{r.name}")


@inventory_app.command("pull")
def inventory_pull(
    store: FromOpt,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Inventory name (default: the one inventory the store holds)."),
    ] = None,
    revision: Annotated[
        int | None, typer.Option("--revision", help="This revision (default: latest).")
    ] = None,
    out: OutOpt = None,
) -> None:
    """Fetch the published inventory (latest unless --revision)."""
    from attestlake.contracts.inventory import parse_inventory
    from attestlake.contracts.publish import Reference, published_name, pull
    from attestlake.store import open_store

    opened = open_store(store)
    name = name or published_name(opened, "inventory")
    rev, raw = pull(opened, "inventory", Reference(opened.ref, name, revision=revision))
    parse_inventory(raw, source=f"{opened.ref}#{name}@{rev.revision}")
    _write(raw, out)
    if out is not None:
        echo(f"inventory {rev.name} revision {rev.revision} -> {out}")


@inventory_app.command("list")
def inventory_list(store: FromOpt, as_json: JsonOpt = False) -> None:
    """List published inventory revisions with their dates and digests."""
    _list(store, "inventory", None, as_json)
