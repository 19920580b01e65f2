-- title: Builds outside CI
-- description: Verified runs made on a GENERIC runner (a workstation, or a system the
--   collector does not recognise) for a project's workflow that also runs on a CI system: a
--   build that skipped the pipeline and its controls, yet was signed with a trusted key. A
--   workflow that has only ever run on GENERIC runners is not reported here (its SLSA level
--   says so). One row per such run, with the CI runner types the workflow otherwise uses and
--   how many of its runs used them.
-- severity: high
-- finding: project, workflow, run_id
-- param: since = 1970-01-01 : only runs started on or after this date (YYYY-MM-DD, UTC)
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
    AND (r.started_at AT TIME ZONE 'UTC') >= CAST($since AS DATE)
ORDER BY r.project, r.workflow, r.started_at, r.run_id
