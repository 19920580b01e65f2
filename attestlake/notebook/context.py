"""Which lake a notebook reads, and who owns each team.

A notebook's parameters cell names a lake (``LAKE``) and an organisation file
(``ORGANISATION``); the lake may be a directory or ``s3://bucket/prefix`` (credentials from
the AWS environment variables, docs/lake.md). Left as ``None`` they come from ``$ATTESTLAKE_LAKE`` and
``$ATTESTLAKE_ORGANISATION``, and failing those from the sample lake, built once by the demo
under ``$XDG_CACHE_HOME/attestlake/sample`` (``~/.cache/...``), so that a notebook opened from a
clean checkout shows something.

Owners: an organisation file given (``teams: [{name, owner}]``, the format of
``sample_data/organisation.yaml``) names each team's owner. Without one, a lake whose
``inventory`` table has rows (an inventory published to a crawled store) gives each team's
owners from the current revision of each inventory; failing that, a demo lake (its directory
is marked by ``attestlake demo``) gets the sample organisation's owners.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from attestlake._internal.version import __version__
from attestlake.demo.demo import MARKER, run_demo, sample_data_dir
from attestlake.errors import InputError, LakeError
from attestlake.lake.lake import Lake
from attestlake.lake.object_store import LakeRoot, ObjectLake, lake_root
from attestlake.lake.tables import TABLES

LAKE_ENV = "ATTESTLAKE_LAKE"
ORGANISATION_ENV = "ATTESTLAKE_ORGANISATION"
_STAMP = ".attestlake-notebook-sample"
INVENTORY_SOURCE = "the lake's inventory table"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "attestlake"


def _stamp() -> str:
    return f"{__version__} {','.join(t.name for t in TABLES)}\n"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sample_lake(directory: Path | None = None, *, now: datetime | None = None) -> Path:
    """The sample lake's path, built by the demo into ``directory`` if absent or out of date.

    ``directory`` defaults to ``cache_dir() / "sample"``; it is rebuilt when attestlake's
    version or its list of tables changed since it was built. Two notebooks starting at once
    take turns (a lock file beside the directory).
    """
    target = directory or cache_dir() / "sample"
    with _locked(target.with_name(target.name + ".lock")):
        stamp = target / _STAMP
        if not (stamp.is_file() and stamp.read_text() == _stamp() and (target / "lake").is_dir()):
            run_demo(target, now=now)
            stamp.write_text(_stamp())
    return target / "lake"


def is_demo_lake(lake: LakeRoot) -> bool:
    """True if ``lake`` was made by ``attestlake demo`` (its parent carries the demo marker)."""
    return isinstance(lake, Path) and (lake.resolve().parent / MARKER).is_file()


def resolve_lake(lake: str | LakeRoot | None = None) -> LakeRoot:
    """``lake``, else ``$ATTESTLAKE_LAKE``, else :func:`sample_lake`: a directory, or a lake
    in object storage (``s3://bucket/prefix``)."""
    chosen = lake or os.environ.get(LAKE_ENV)
    if not chosen:
        return sample_lake()
    root = chosen if isinstance(chosen, ObjectLake) else lake_root(chosen)
    return root.expanduser() if isinstance(root, Path) else root


def load_owners(organisation: Path) -> dict[str, str]:
    """Team name → owner, from an organisation file's ``teams`` list."""
    try:
        doc = yaml.safe_load(organisation.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{organisation}: cannot read the organisation file: {exc}") from None
    teams = doc.get("teams") if isinstance(doc, dict) else None
    if not isinstance(teams, list):
        raise InputError(
            f"{organisation}: expected a 'teams' list of {{name, owner}} entries "
            "(see sample_data/organisation.yaml)"
        )
    return {
        str(t["name"]): str(t["owner"])
        for t in teams
        if isinstance(t, dict) and t.get("name") and t.get("owner")
    }


def table_columns(lake: Lake, table: str) -> set[str]:
    """The columns of the lake's table or view ``table`` (empty if there is none)."""
    rows = lake.sql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $t", {"t": table}
    )
    return {str(c) for c in rows.column(0).to_pylist()}


INVENTORY_OWNERS_SQL = """
WITH current AS (
    SELECT * FROM inventory
    QUALIFY revision = max(revision) OVER (PARTITION BY inventory_name)
)
SELECT team, string_agg(DISTINCT owner, ', ' ORDER BY owner) AS owner FROM current
WHERE team IS NOT NULL AND owner IS NOT NULL GROUP BY team ORDER BY team
"""


def inventory_owners(lake: Lake) -> dict[str, str] | None:
    """Team → owner(s) from the current revision of each inventory in the lake, or None if
    the lake holds no inventory with owners.

    The inventory names an owner per workflow; a team with several gets them all, joined by
    commas.
    """
    if not {"team", "owner", "inventory_name", "revision"} <= table_columns(lake, "inventory"):
        return None
    rows = lake.sql(INVENTORY_OWNERS_SQL).to_pylist()
    return {str(r["team"]): str(r["owner"]) for r in rows} or None


@dataclass
class Context:
    """An open lake plus the owners to contact per team (and where they came from)."""

    lake: Lake
    owners: dict[str, str] = field(default_factory=dict)
    owners_source: str = "none"

    @property
    def path(self) -> LakeRoot:
        return self.lake.root

    def owner(self, team: str | None) -> str | None:
        return self.owners.get(team) if team else None

    def _repr_html_(self) -> str:
        from attestlake.notebook.display import Card

        fields = [("lake", str(self.path)), ("team owners from", self.owners_source)]
        return Card("Reading", fields)._repr_html_()


def open_context(
    lake: str | LakeRoot | None = None, organisation: str | Path | None = None
) -> Context:
    """Open the notebook's lake (see :func:`resolve_lake`) and find its teams' owners."""
    path = resolve_lake(lake)
    try:
        opened = Lake.open(path)
    except LakeError as exc:
        raise LakeError(f"{exc} (or set LAKE in the parameters cell, or ${LAKE_ENV})") from None
    org = organisation or os.environ.get(ORGANISATION_ENV)
    if org:
        return Context(opened, load_owners(Path(org).expanduser()), str(org))
    from_inventory = inventory_owners(opened)
    if from_inventory is not None:
        return Context(opened, from_inventory, INVENTORY_SOURCE)
    if is_demo_lake(path):
        sample = sample_data_dir() / "organisation.yaml"
        return Context(opened, load_owners(sample), str(sample))
    return Context(opened)
