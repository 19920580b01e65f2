-- title: New dependencies
-- description: Packages that a project's workflow ships for the first time on or after since:
--   listed by the trusted SBOM of one of its successful runs, and by none of its earlier
--   ones. A package is its purl without version (or its name, when it has no purl), so a new
--   version of a package the workflow already used is not new. A workflow with no SBOM before
--   since is left out (there is nothing to compare with). One row per workflow and new
--   package: the versions seen, the run that first listed it and when, and how many runs
--   have listed it since.
-- severity: low
-- finding: project, workflow, package
-- param: since = 7 days : packages first listed on or after this instant are new (a duration before now, or an ISO date or timestamp)
WITH listed AS (
    SELECT
        r.project,
        r.workflow,
        r.team,
        r.run_id,
        r.started_at,
        coalesce(regexp_replace(c.purl, '[@?#].*$', ''), c.name) AS package,
        c.name,
        c.version
    FROM sbom_components AS c
    JOIN runs AS r ON r.manifest_digest = c.manifest_digest
    WHERE c.trusted AND coalesce(r.status, 'success') = 'success'
),
baseline AS (
    SELECT project, workflow, min(started_at) AS first_sbom_at
    FROM listed
    GROUP BY project, workflow
),
-- The packages first listed in the window, found before their details are aggregated.
new_packages AS (
    SELECT f.project, f.workflow, f.package
    FROM (
        SELECT project, workflow, package, min(started_at) AS first_listed_at
        FROM listed
        GROUP BY project, workflow, package
    ) AS f
    JOIN baseline AS b ON b.project = f.project AND b.workflow = f.workflow
    WHERE f.first_listed_at >= CAST($since AS TIMESTAMPTZ)
        AND b.first_sbom_at < CAST($since AS TIMESTAMPTZ)
),
packages AS (
    SELECT
        l.project,
        l.workflow,
        l.package,
        any_value(l.team) AS team,
        min(l.name) AS component,
        string_agg(DISTINCT l.version, ', ' ORDER BY l.version) AS versions,
        min(l.started_at) AS first_listed_at,
        arg_min(l.run_id, l.started_at) AS first_run_id,
        count(DISTINCT l.run_id) AS runs
    FROM listed AS l
    SEMI JOIN new_packages AS n
        ON n.project = l.project AND n.workflow = l.workflow AND n.package = l.package
    GROUP BY l.project, l.workflow, l.package
)
SELECT
    p.project,
    p.workflow,
    p.team,
    p.component,
    p.package,
    p.versions,
    p.first_listed_at,
    p.first_run_id,
    p.runs
FROM packages AS p
ORDER BY p.project, p.workflow, p.package
