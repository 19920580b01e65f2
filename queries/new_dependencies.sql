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
packages AS (
    SELECT
        project,
        workflow,
        package,
        any_value(team) AS team,
        min(name) AS component,
        string_agg(DISTINCT version, ', ' ORDER BY version) AS versions,
        min(started_at) AS first_listed_at,
        arg_min(run_id, started_at) AS first_run_id,
        count(DISTINCT run_id) AS runs
    FROM listed
    GROUP BY project, workflow, package
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
JOIN baseline AS b ON b.project = p.project AND b.workflow = p.workflow
WHERE p.first_listed_at >= CAST($since AS TIMESTAMPTZ)
    AND b.first_sbom_at < CAST($since AS TIMESTAMPTZ)
ORDER BY p.project, p.workflow, p.package
