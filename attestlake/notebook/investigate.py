"""Investigations: an artifact digest → its runs; an image reference → its digests; a package
(name or purl, with a version range) → every artifact and workflow that ships it, and whom to
contact.

Each function returns a result holding polars frames (for tests and further analysis) that
renders itself as HTML in a notebook. Values typed by the investigator are bound as SQL
parameters, never pasted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from attestlake.errors import InputError
from attestlake.notebook.components import (
    ComponentSearch,
    find_component,
    find_components,
    missing_components,
)
from attestlake.notebook.context import Context
from attestlake.notebook.display import Card, Note, Section, Table
from attestlake.notebook.frames import frame

__all__ = [
    "ComponentSearch",
    "DigestReport",
    "ImageLookup",
    "find_component",
    "find_digest",
    "latest_artifact_digest",
    "latest_image_repository",
    "normalise_digest",
    "resolve_image",
]

_DIGEST_RE = re.compile(r"(?:^|@)(?:sha256:)?(?P<hex>[0-9a-fA-F]{64})$")

# UNION, not UNION ALL: the run statement and its SLSA provenance name the same subjects, and
# an artifact is listed once per run.
MATCHES_SQL = """
SELECT 'artifact (subject)' AS found_as, name AS detail, manifest_digest FROM subjects
    WHERE digest = $digest
UNION SELECT 'material ' || name || ' (' || type || ')', coalesce(value, filename),
    manifest_digest FROM materials WHERE digest = $digest
UNION SELECT 'main component of SBOM ' || name, sbom_main_name, manifest_digest
    FROM materials WHERE sbom_main_digest = $digest
UNION SELECT 'attestation manifest', source, manifest_digest FROM runs
    WHERE manifest_digest = $digest
UNION SELECT 'attestation envelope', source, manifest_digest FROM runs
    WHERE envelope_digest = $digest
ORDER BY found_as, detail, manifest_digest
"""

RUNS_SQL = """
SELECT r.*, v.status AS verification, v.reason AS verification_reason
FROM runs AS r
LEFT JOIN verifications AS v
    ON v.manifest_digest = r.manifest_digest AND v.envelope_digest = r.envelope_digest
WHERE list_contains($manifests, r.manifest_digest)
ORDER BY r.started_at, r.run_id
"""

MATERIALS_SQL = """
SELECT run_id, name, type, coalesce(value, filename) AS value, digest, output,
    sbom_format, sbom_components
FROM materials WHERE list_contains($manifests, manifest_digest)
ORDER BY run_id, name
"""

FAILED_SQL = """
SELECT source, status, reason, detail, signer, key_id, workflow, project, crawled_at
FROM verifications
WHERE status IS DISTINCT FROM 'verified' AND (manifest_digest = $digest OR envelope_digest = $digest)
"""

_IMAGES = """
SELECT split_part(m.value, '@', 1) AS image, m.digest, r.team, r.project, r.workflow, r.run_id, r.started_at,
    r.runner_url
FROM materials AS m JOIN runs AS r USING (manifest_digest)
WHERE m.type = 'CONTAINER_IMAGE' AND {match}
ORDER BY r.started_at DESC, m.value
"""
IMAGES_BY_NAME_SQL = _IMAGES.format(
    match="(m.value = $ref OR starts_with(m.value, $ref || '@') OR starts_with(m.value, $ref || ':'))"
)
IMAGES_BY_DIGEST_SQL = _IMAGES.format(match="m.digest = $ref")


def normalise_digest(text: str) -> str:
    """``sha256:<hex>`` from a digest, a bare hex digest or ``NAME@sha256:<hex>``."""
    match = _DIGEST_RE.search(text.strip())
    if not match:
        raise InputError(
            f"{text!r} is not a sha256 digest: give sha256:<64 hex digits> or an image "
            "reference NAME@sha256:<64 hex digits>"
        )
    return f"sha256:{match['hex'].lower()}"


def _text(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _run_card(run: dict[str, Any], owner: str | None) -> Card:
    verification = _text(run.get("verification") or "verified")
    if run.get("verification_reason"):
        verification += f" ({run['verification_reason']})"
    contract = run.get("contract_name")
    fields = [
        ("run", run.get("run_id")),
        ("team", _text(run.get("team"))),
        ("owner to contact", owner or "unknown (no organisation file or inventory)"),
        ("project / workflow", f"{_text(run.get('project'))} / {_text(run.get('workflow'))}"),
        ("status", run.get("status")),
        ("started", run.get("started_at")),
        ("finished", run.get("finished_at")),
        ("repository", run.get("repository")),
        ("commit", run.get("commit")),
        ("ref", run.get("ref")),
        ("actor", run.get("actor")),
        ("CI system", run.get("runner_type")),
        ("signed by (trusted key)", f"{_text(run.get('signer'))}, key {_text(run.get('key_id'))}"),
        ("verification", verification),
        ("contract", f"{contract} revision {run.get('contract_revision')}" if contract else None),
        ("attestation manifest", run.get("manifest_digest")),
    ]
    return Card(f"Run {run.get('run_id')}", fields, links={"run": str(run.get("runner_url") or "")})


@dataclass
class DigestReport:
    """Where a digest appears in the lake, and the verified runs behind it."""

    digest: str
    matches: pl.DataFrame
    runs: pl.DataFrame
    materials: pl.DataFrame
    components: pl.DataFrame | None  # None: the lake has no component data (see no_components)
    failed: pl.DataFrame
    owners: dict[str, str] = field(default_factory=dict)
    no_components: str | None = None

    @property
    def run_ids(self) -> list[str]:
        return [str(r) for r in self.runs["run_id"].to_list()]

    def _repr_html_(self) -> str:
        parts: list[Any] = []
        if self.runs.is_empty():
            parts.append(Note(f"{self.digest} is in no verified run of this lake.", "warning"))
        else:
            parts.append(Note(f"{self.digest} appears in {self.runs.height} verified run(s)."))
            parts.append(Table(self.matches, "Where the digest appears"))
        for run in self.runs.iter_rows(named=True):
            parts.append(_run_card(run, self.owners.get(str(run.get("team")))))
        if not self.failed.is_empty():
            parts.append(Note("Attestations at this digest FAILED verification:", "problem"))
            parts.append(Table(self.failed))
        if not self.runs.is_empty():
            parts.append(Table(self.materials, "Materials of these runs"))
            if self.components is None:
                parts.append(Note(self.no_components or "No SBOM component data.", "warning"))
            else:
                parts.append(Table(self.components, "SBOM components of these runs"))
        return Section(f"Digest {self.digest}", parts)._repr_html_()


def find_digest(context: Context, digest: str) -> DigestReport:
    """Every verified run that built or used ``digest``, or whose attestation is at it."""
    lake = context.lake
    wanted = normalise_digest(digest)
    matches = frame(lake.sql(MATCHES_SQL, {"digest": wanted}))
    params = {"manifests": sorted({str(m) for m in matches["manifest_digest"].to_list()})}
    runs = frame(lake.sql(RUNS_SQL, params))
    components = None
    no_components = missing_components(lake)
    if no_components is None:
        components = find_components(lake, manifests=params["manifests"]).select(
            "run_id", "component", "version", "purl", "type"
        )
    runs_of = runs.select("manifest_digest", "run_id", "workflow").unique()
    located = matches.join(runs_of, on="manifest_digest", how="left")
    return DigestReport(
        digest=wanted,
        matches=located.select("found_as", "detail", "run_id", "workflow", "manifest_digest"),
        runs=runs,
        materials=frame(lake.sql(MATERIALS_SQL, params)),
        components=components,
        failed=frame(lake.sql(FAILED_SQL, {"digest": wanted})),
        owners=dict(context.owners),
        no_components=no_components,
    )


@dataclass
class ImageLookup:
    """The digests an image reference (repository, tag or digest) was attested with."""

    reference: str
    images: pl.DataFrame

    @property
    def digests(self) -> list[str]:
        return list(dict.fromkeys(str(d) for d in self.images["digest"].to_list()))

    def _repr_html_(self) -> str:
        found = self.digests
        note = (
            Note(f"{self.reference} → {len(found)} digest(s), most recent run first.")
            if found
            else Note(
                f"No verified run in this lake attested the image {self.reference}.", "warning"
            )
        )
        table = Table(self.images, links={"run_id": "runner_url"})
        return Section(f"Image {self.reference}", [note, table])._repr_html_()


def resolve_image(context: Context, reference: str) -> ImageLookup:
    """Runs that attested ``reference``: ``REPO``, ``REPO:TAG`` or ``REPO[:TAG]@sha256:...``."""
    ref = reference.strip()
    if not ref:
        raise InputError("give an image reference: REPOSITORY[:TAG][@sha256:DIGEST]")
    if "@" in ref:
        rows = context.lake.sql(IMAGES_BY_DIGEST_SQL, {"ref": normalise_digest(ref)})
    else:
        rows = context.lake.sql(IMAGES_BY_NAME_SQL, {"ref": ref})
    return ImageLookup(ref, frame(rows))


def latest_artifact_digest(context: Context) -> str | None:
    """The digest of the lake's most recently built artifact (an example to start from)."""
    rows = context.lake.sql(
        "SELECT s.digest FROM subjects AS s JOIN runs AS r USING (manifest_digest) "
        "WHERE s.digest IS NOT NULL ORDER BY r.started_at DESC, s.digest LIMIT 1"
    ).to_pylist()
    return str(rows[0]["digest"]) if rows else None


def latest_image_repository(context: Context) -> str | None:
    """The repository of the lake's most recently attested container image (an example)."""
    rows = context.lake.sql(
        "SELECT m.value FROM materials AS m JOIN runs AS r USING (manifest_digest) "
        "WHERE m.type = 'CONTAINER_IMAGE' AND m.value IS NOT NULL "
        "ORDER BY r.started_at DESC, m.value LIMIT 1"
    ).to_pylist()
    return str(rows[0]["value"]).split("@", 1)[0] if rows else None
