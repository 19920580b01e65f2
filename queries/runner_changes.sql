-- title: Runner changes
-- description: A successful verified run of a project's workflow on another CI runner than its
--   previous one: another CI system (runner_type), or a GitHub Actions workflow moving between
--   GitHub-hosted and self-hosted runners (GitHub's RUNNER_ENVIRONMENT, recorded in the run
--   statement's predicate.runner.environment and read from the trusted attestations table;
--   other CI systems do not say). A move to self-hosted runners takes the build off the
--   platform's ephemeral machines; a move to another CI system changes who can build and sign.
--   GENERIC runs are skipped (builds_outside_ci reports them). One row per change.
-- severity: medium
-- finding: project, workflow
SELECT
    project,
    workflow,
    team,
    run_id,
    started_at,
    change,
    previous_runner,
    runner,
    previous_run_id,
    runner_url
FROM runner_moves
ORDER BY project, workflow, started_at, run_id
