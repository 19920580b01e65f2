-- Every package each project's workflow has shipped, one row per workflow and package: what
-- the trusted SBOMs of its successful runs list. A package is a component's purl without
-- version (or its name, when it has no purl). When it was first listed, by which run, its
-- versions seen, and how many runs listed it.
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
)
SELECT
    project,
    workflow,
    package,
    min(team) AS team,
    min(name) AS component,
    string_agg(DISTINCT version, ', ' ORDER BY version) AS versions,
    min(started_at) AS first_listed_at,
    -- the earliest run; of runs started at once, the lowest run id
    arg_min(run_id, (started_at, run_id)) FILTER (
        WHERE started_at IS NOT NULL AND run_id IS NOT NULL
    ) AS first_run_id,
    count(DISTINCT run_id) AS runs
FROM listed
GROUP BY project, workflow, package
