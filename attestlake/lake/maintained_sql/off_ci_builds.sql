-- Each verified run on a GENERIC runner (a workstation, or a system the collector does not
-- recognise) of a project's workflow that also has runs on a CI system (any other runner
-- type): with the CI runner types the workflow uses (sorted, comma-separated) and how many
-- of its runs used them.
WITH ci AS (
    SELECT
        project,
        workflow,
        string_agg(DISTINCT runner_type, ', ' ORDER BY runner_type) AS ci_runner_types,
        count(*) AS ci_runs
    FROM runs
    WHERE runner_type IS NOT NULL AND runner_type <> 'GENERIC'
    GROUP BY project, workflow
)
SELECT
    r.project,
    r.workflow,
    r.team,
    r.run_id,
    r.status,
    r.started_at,
    r.runner_type,
    r.signer,
    c.ci_runner_types,
    c.ci_runs
FROM runs AS r
JOIN ci AS c ON c.project = r.project AND c.workflow = r.workflow
WHERE r.runner_type = 'GENERIC'
