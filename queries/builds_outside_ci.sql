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
SELECT
    project,
    workflow,
    team,
    run_id,
    status,
    started_at,
    runner_type,
    signer,
    ci_runner_types,
    ci_runs
FROM off_ci_builds
WHERE (started_at AT TIME ZONE 'UTC') >= CAST($since AS DATE)
ORDER BY project, workflow, started_at, run_id
