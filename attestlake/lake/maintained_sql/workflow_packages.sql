-- Every package each project's workflow has shipped, one row per workflow and package: what
-- the trusted SBOMs of its successful runs list. A package is a component's purl without
-- version (or its name, when it has no purl). When it was first listed, by which run, its
-- versions seen, and how many runs listed it. Each DISTINCT is a GROUP BY of its own, which
-- spills to disk: at a million runs (50 million components) the DISTINCT aggregates of one
-- GROUP BY held gigabytes. Each row is one project's workflow's, computed from the runs of that
-- workflow alone: the crawler may compute it from a share of the workflows' runs at a time.
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
firsts AS (
    SELECT
        project,
        workflow,
        package,
        min(team) AS team,
        min(name) AS component,
        min(started_at) AS first_listed_at,
        -- the earliest run; of runs started at once, the lowest run id
        arg_min(run_id, (started_at, run_id)) FILTER (
            WHERE started_at IS NOT NULL AND run_id IS NOT NULL
        ) AS first_run_id
    FROM listed
    GROUP BY project, workflow, package
),
versions AS (
    SELECT project, workflow, package, string_agg(version, ', ' ORDER BY version) AS versions
    FROM (SELECT DISTINCT project, workflow, package, version FROM listed)
    GROUP BY project, workflow, package
),
runs_listing AS (
    SELECT project, workflow, package, count(run_id) AS runs
    FROM (SELECT DISTINCT project, workflow, package, run_id FROM listed)
    GROUP BY project, workflow, package
)
SELECT
    f.project,
    f.workflow,
    f.package,
    f.team,
    f.component,
    v.versions,
    f.first_listed_at,
    f.first_run_id,
    r.runs
FROM firsts AS f
JOIN versions AS v
    ON v.project IS NOT DISTINCT FROM f.project
    AND v.workflow IS NOT DISTINCT FROM f.workflow
    AND v.package IS NOT DISTINCT FROM f.package
JOIN runs_listing AS r
    ON r.project IS NOT DISTINCT FROM f.project
    AND r.workflow IS NOT DISTINCT FROM f.workflow
    AND r.package IS NOT DISTINCT FROM f.package
