"""Who ships a package: artifacts, workflows and owners, from the ``sbom_components`` table.

Columns relied on: ``manifest_digest`` (joins the run), ``name``, ``version``, ``purl``, and,
when present, ``type`` and ``trusted`` (rows with ``trusted = false`` are ignored). Only
components of verified runs (the ``runs`` table) are reported. A lake without the table has no
component data: :func:`missing_components` says why, and the notebook tells the reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from deltalake import DeltaTable

from attestlake.errors import InputError
from attestlake.lake.delta import storage_options
from attestlake.lake.lake import Lake
from attestlake.lake.object_store import ObjectLake
from attestlake.notebook.context import Context, table_columns
from attestlake.notebook.display import Note, Section, Table
from attestlake.notebook.frames import frame
from attestlake.notebook.versions import VersionRange, parse_range, version_key

TABLE = "sbom_components"
ARTIFACT_ROWS = 50  # rows shown in a notebook; ComponentSearch.artifacts has them all
REQUIRED = ("manifest_digest", "name", "version", "purl")

# A purl without version, qualifiers and subpath, lower-cased: pkg:type/namespace/name.
_PURL_BASE = "lower(regexp_replace(split_part(split_part({col}, '#', 1), '?', 1), '@[^@/]*$', ''))"

COMPONENTS_SQL = """
SELECT r.run_id, r.team, r.project, r.workflow, r.started_at, r.runner_url, r.manifest_digest,
    c.name AS component,
    coalesce(c.version, regexp_extract(split_part(split_part(c.purl, '#', 1), '?', 1),
        '@([^@/]*)$', 1)) AS version,
    c.purl, {type} AS type
FROM {table} AS c JOIN runs AS r ON r.manifest_digest = c.manifest_digest
WHERE {trusted} AND {match}
ORDER BY r.started_at DESC, r.run_id, c.name, c.version
"""


# The run statement and the SLSA provenance pushed beside it name the same outputs: one row
# per artifact of a run, whichever statements name it.
ARTIFACTS_SQL = """
SELECT DISTINCT manifest_digest, name AS artifact, digest AS artifact_digest FROM subjects
WHERE list_contains($manifests, manifest_digest)
"""

LATEST_RUNS_SQL = """
SELECT project, workflow, arg_max(run_id, started_at) AS run_id FROM runs GROUP BY ALL
"""


def component_table(lake: Lake) -> bool:
    """True if the lake has an ``sbom_components`` table with the columns relied on.

    A table on disk that :meth:`Lake.open` does not know yet is registered as a view.
    """
    columns = table_columns(lake, TABLE)
    where = lake.root.child(TABLE) if isinstance(lake.root, ObjectLake) else str(lake.root / TABLE)
    options = storage_options(lake.root)
    if not columns and DeltaTable.is_deltatable(where, storage_options=options):
        dataset = DeltaTable(where, storage_options=options).to_pyarrow_dataset()
        lake.con.register(f"_{TABLE}_data", dataset)
        lake.con.sql(f'CREATE VIEW "{TABLE}" AS SELECT * FROM "_{TABLE}_data"')  # noqa: S608
        columns = table_columns(lake, TABLE)
    return set(REQUIRED) <= columns


NO_TABLE = "This lake has no SBOM component table (sbom_components)."
EMPTY_TABLE = "This lake's SBOM component table (sbom_components) is empty: no SBOM was crawled."


def missing_components(lake: Lake) -> str | None:
    """None if the lake has SBOM component rows; else a sentence saying why not."""
    if not component_table(lake):
        return NO_TABLE
    if not lake.sql(f'SELECT 1 FROM "{TABLE}" LIMIT 1').num_rows:  # noqa: S608
        return EMPTY_TABLE
    return None


def purl_base(purl: str) -> str:
    """``pkg:maven/org.example/lib@1.0?type=jar`` → ``pkg:maven/org.example/lib``."""
    bare = purl.split("#", 1)[0].split("?", 1)[0]
    head, at, version = bare.rpartition("@")
    return (head if at and "/" not in version else bare).lower()


def _package_clause(package: str) -> tuple[str, dict[str, str], str | None]:
    """SQL condition, its parameters, and the version a purl query pins (if any)."""
    text = package.strip()
    if not text:
        raise InputError("give a package name (log4j-core) or a purl (pkg:maven/org.apache...)")
    if text.startswith("pkg:"):
        bare = text.split("#", 1)[0].split("?", 1)[0]
        _, at, version = bare.rpartition("@")
        pinned = version if at and "/" not in version else None
        clause = f"{_PURL_BASE.format(col='c.purl')} = $package"
        return clause, {"package": purl_base(text)}, pinned
    return "lower(c.name) = lower($package)", {"package": text}, None


def find_components(
    lake: Lake,
    *,
    package: str | None = None,
    version_range: str | VersionRange | None = None,
    manifests: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Component rows of verified runs: matching ``package`` (name or purl) and range, or of
    the runs at ``manifests``. InputError if the lake has no component table."""
    if not component_table(lake):
        raise InputError(f"this lake has no {TABLE} table (columns {', '.join(REQUIRED)})")
    columns = table_columns(lake, TABLE)
    params: dict[str, object] = {}
    pinned = None
    if package is not None:
        match, given, pinned = _package_clause(package)
        params.update(given)
    else:
        match = "list_contains($manifests, c.manifest_digest)"
        params["manifests"] = list(manifests or [])
    # Only fixed column expressions are formatted in; the investigator's values are bound.
    sql = COMPONENTS_SQL.format(
        table=TABLE,
        type="c.type" if "type" in columns else "NULL",
        trusted="coalesce(c.trusted, true)" if "trusted" in columns else "true",
        match=match,
    )
    # One row per run and component, even if an SBOM reached the lake by two carriers.
    rows = frame(lake.sql(sql, params)).unique(maintain_order=True)
    wanted = (
        version_range if isinstance(version_range, VersionRange) else parse_range(version_range)
    )
    if not wanted.clauses and pinned:  # pkg:...@1.2.3 with no range: that version only
        wanted = parse_range(f"=={pinned}")
    if wanted.clauses:
        rows = rows.filter(pl.col("version").map_elements(lambda v: v in wanted, pl.Boolean))
    return rows


def shipping_workflows(rows: pl.DataFrame, latest: dict[tuple[str, str], str]) -> pl.DataFrame:
    """Per workflow: versions shipped, runs, last run, and whether its latest run still ships
    it (``latest`` maps (project, workflow) to its latest run id)."""
    keys = ["team", "project", "workflow"]
    grouped = (
        rows.group_by(keys)
        .agg(
            versions=pl.col("version").unique(),
            runs=pl.col("run_id").n_unique(),
            last_run=pl.col("started_at").max(),
            run_ids=pl.col("run_id").unique(),
        )
        .sort(keys)
    )
    out = []
    for row in grouped.iter_rows(named=True):
        versions = sorted((str(v) for v in row["versions"] if v), key=version_key)
        latest_id = latest.get((row["project"], row["workflow"]))
        out.append(
            {
                "team": row["team"],
                "project": row["project"],
                "workflow": row["workflow"],
                "versions": ", ".join(versions),
                "runs": row["runs"],
                "last_run": row["last_run"],
                "latest_run_ships_it": latest_id in row["run_ids"],
            }
        )
    return pl.DataFrame(
        out,
        schema={
            "team": pl.String,
            "project": pl.String,
            "workflow": pl.String,
            "versions": pl.String,
            "runs": pl.Int64,
            "last_run": pl.Datetime("us", "UTC"),
            "latest_run_ships_it": pl.Boolean,
        },
    )


@dataclass
class ComponentSearch:
    """Artifacts and workflows whose verified runs' SBOMs list a package."""

    package: str
    version_range: str
    artifacts: pl.DataFrame
    workflows: pl.DataFrame
    #: Why the lake cannot answer (no component table, or an empty one); None if it can.
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def _repr_html_(self) -> str:
        wanted = f"{self.package} {self.version_range}".strip()
        if self.unavailable:
            note = Note(f"{self.unavailable} The component search needs it.", "warning")
            return Section(f"Who ships {wanted}?", [note])._repr_html_()
        if self.workflows.is_empty():
            note = Note(f"No verified run's SBOM lists {wanted}.")
            return Section(f"Who ships {wanted}?", [note])._repr_html_()
        parts = [
            Note(
                f"{self.workflows.height} workflow(s) shipped {wanted} in "
                f"{self.artifacts['run_id'].n_unique()} run(s).",
                "problem",
            ),
            Table(self.workflows, "Workflows and the owners to contact"),
            Table(
                self.artifacts.drop("component", "purl"),
                "Artifacts that ship it (one row per run and artifact, most recent first)",
                links={"run_id": "runner_url"},
                limit=ARTIFACT_ROWS,
            ),
        ]
        return Section(f"Who ships {wanted}?", parts)._repr_html_()


def find_component(
    context: Context, package: str, version_range: str | None = None
) -> ComponentSearch:
    """Every artifact and workflow that ships ``package`` (a name or purl) in ``version_range``."""
    wanted = parse_range(version_range)
    why = missing_components(context.lake)
    if why:
        return ComponentSearch(package, wanted.text, pl.DataFrame(), pl.DataFrame(), why)
    rows = find_components(context.lake, package=package, version_range=wanted)
    manifests = sorted({str(m) for m in rows["manifest_digest"].to_list()})
    artifacts = frame(context.lake.sql(ARTIFACTS_SQL, {"manifests": manifests}))
    owners = pl.DataFrame(
        {"team": list(context.owners), "owner": list(context.owners.values())},
        schema={"team": pl.String, "owner": pl.String},
    )
    hits = (
        rows.join(artifacts, on="manifest_digest", how="left")
        .join(owners, on="team", how="left")
        .select(
            "team",
            "owner",
            "project",
            "workflow",
            "artifact",
            "artifact_digest",
            "component",
            "version",
            "purl",
            "run_id",
            "started_at",
            "runner_url",
        )
    )
    latest = {
        (str(r["project"]), str(r["workflow"])): str(r["run_id"])
        for r in context.lake.sql(LATEST_RUNS_SQL).to_pylist()
    }
    workflows = shipping_workflows(rows, latest).join(owners, on="team", how="left")
    order = [
        "team",
        "owner",
        "project",
        "workflow",
        "versions",
        "runs",
        "last_run",
        "latest_run_ships_it",
    ]
    return ComponentSearch(package, wanted.text, hits, workflows.select(order))
