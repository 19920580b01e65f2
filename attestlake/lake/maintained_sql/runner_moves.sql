-- Each successful verified run of a project's workflow on another CI runner than its previous
-- one (by started_at, then finished_at, then manifest digest): another CI system
-- (runner_type), or another runner environment (GitHub's RUNNER_ENVIRONMENT, from the run's
-- verified statement; other CI systems do not record one). GENERIC runs are left out.
WITH hosting AS (
    SELECT
        manifest_digest,
        envelope_digest,
        json_extract_string(
            statement, '$.predicate.runner.environment.RUNNER_ENVIRONMENT'
        ) AS hosting
    FROM attestations
    WHERE trusted
),
ci_runs AS (
    SELECT
        r.project,
        r.workflow,
        r.team,
        r.run_id,
        r.started_at,
        r.finished_at,
        r.manifest_digest,
        r.runner_type,
        r.runner_url,
        a.hosting
    FROM runs AS r
    LEFT JOIN hosting AS a
        ON a.manifest_digest = r.manifest_digest
        AND a.envelope_digest = r.envelope_digest
    WHERE coalesce(r.status, 'success') = 'success'
        AND r.runner_type IS NOT NULL
        AND r.runner_type <> 'GENERIC'
),
ordered AS (
    SELECT
        *,
        lag(runner_type) OVER w AS previous_runner_type,
        lag(hosting) OVER w AS previous_hosting,
        lag(run_id) OVER w AS previous_run_id
    FROM ci_runs
    WINDOW w AS (
        PARTITION BY project, workflow
        ORDER BY started_at, finished_at, manifest_digest
    )
)
SELECT
    project,
    workflow,
    team,
    run_id,
    started_at,
    CASE WHEN runner_type <> previous_runner_type THEN 'runner type' ELSE 'hosting' END AS change,
    previous_runner_type || coalesce(' (' || previous_hosting || ')', '') AS previous_runner,
    runner_type || coalesce(' (' || hosting || ')', '') AS runner,
    previous_run_id,
    runner_url
FROM ordered
WHERE previous_run_id IS NOT NULL
    AND (
        runner_type <> previous_runner_type
        OR (hosting IS NOT NULL AND previous_hosting IS NOT NULL AND hosting <> previous_hosting)
    )
