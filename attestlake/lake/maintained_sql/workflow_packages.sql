-- Every package each project's workflow has shipped, one row per workflow and package: what
-- the trusted SBOMs of its successful runs list. A package is a component's purl without
-- version (or its name, when it has no purl). When it was first listed, by which run, its
-- versions seen, and how many runs listed it. Each row is one project's workflow's, computed
-- from the runs of that workflow alone: the crawler may compute it from a share of the
-- workflows' runs at a time.
--
-- At a million runs the SBOMs list 50 million components, about one per run and package: the
-- count of distinct runs is a GROUP BY with that many groups, which must spill. Its key is
-- therefore two integers and the package (a workflow's number and a run's, numbered over the
-- runs read), not the project, workflow and run id as text; everything else is reduced per
-- version first (a few rows per workflow and package). The listing is read twice rather than
-- kept: the join is cheap, and 50 million kept rows are not.
WITH runs_read AS MATERIALIZED (
    SELECT
        manifest_digest,
        project,
        workflow,
        team,
        run_id,
        started_at,
        dense_rank() OVER (ORDER BY project, workflow) AS workflow_number,
        dense_rank() OVER (ORDER BY project, workflow, run_id) AS run_number
    FROM runs
    WHERE coalesce(status, 'success') = 'success'
),
listed AS NOT MATERIALIZED (
    SELECT
        r.workflow_number,
        r.run_number,
        r.project,
        r.workflow,
        r.team,
        r.run_id,
        r.started_at,
        coalesce(regexp_replace(c.purl, '[@?#].*$', ''), c.name) AS package,
        c.name,
        c.version
    FROM sbom_components AS c
    JOIN runs_read AS r ON r.manifest_digest = c.manifest_digest
    WHERE c.trusted
),
by_version AS (
    SELECT
        workflow_number,
        package,
        version,
        min(project) AS project,
        min(workflow) AS workflow,
        min(team) AS team,
        min(name) AS component,
        min(started_at) AS listed_at,
        -- the earliest run; of runs started at once, the lowest run id
        arg_min(run_id, (started_at, run_id)) FILTER (
            WHERE started_at IS NOT NULL AND run_id IS NOT NULL
        ) AS first_run_id,
        min(started_at) FILTER (
            WHERE started_at IS NOT NULL AND run_id IS NOT NULL
        ) AS first_run_at
    FROM listed
    GROUP BY workflow_number, package, version
),
firsts AS (
    SELECT
        workflow_number,
        package,
        min(project) AS project,
        min(workflow) AS workflow,
        min(team) AS team,
        min(component) AS component,
        string_agg(version, ', ' ORDER BY version) AS versions,
        min(listed_at) AS first_listed_at,
        arg_min(first_run_id, (first_run_at, first_run_id)) FILTER (
            WHERE first_run_id IS NOT NULL
        ) AS first_run_id
    FROM by_version
    GROUP BY workflow_number, package
),
runs_listing AS (
    SELECT workflow_number, package, count(*) AS runs
    FROM (
        SELECT DISTINCT workflow_number, run_number, package
        FROM listed
        WHERE run_id IS NOT NULL
    )
    GROUP BY workflow_number, package
)
SELECT
    f.project,
    f.workflow,
    f.package,
    f.team,
    f.component,
    f.versions,
    f.first_listed_at,
    f.first_run_id,
    coalesce(r.runs, 0) AS runs
FROM firsts AS f
LEFT JOIN runs_listing AS r
    ON r.workflow_number = f.workflow_number
    AND r.package IS NOT DISTINCT FROM f.package
