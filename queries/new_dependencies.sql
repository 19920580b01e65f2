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
WITH baseline AS (
    SELECT project, workflow, min(first_listed_at) AS first_sbom_at
    FROM workflow_packages
    GROUP BY project, workflow
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
FROM workflow_packages AS p
JOIN baseline AS b ON b.project = p.project AND b.workflow = p.workflow
WHERE p.first_listed_at >= CAST($since AS TIMESTAMPTZ)
    AND b.first_sbom_at < CAST($since AS TIMESTAMPTZ)
ORDER BY p.project, p.workflow, p.package
