-- Each run id (not NULL) of a project's workflow in the lifecycle records (run_events), one
-- row each: the team they name (the lowest, when several), when it started (its first
-- 'started' record), when it ended and how (its newest 'success', 'failed' or 'cancelled'
-- record), the reason of its newest failed or cancelled record, and began: its start, or
-- with no start record its end.
WITH per_run AS (
    SELECT
        project,
        workflow,
        run_id,
        min(team) AS team,
        min(event_at) FILTER (WHERE status = 'started') AS started_at,
        max(event_at) FILTER (WHERE status IN ('success', 'failed', 'cancelled')) AS ended_at,
        arg_max(status, event_at) FILTER (
            WHERE status IN ('success', 'failed', 'cancelled')
        ) AS outcome,
        arg_max(reason, event_at) FILTER (WHERE status IN ('failed', 'cancelled')) AS reason
    FROM run_events
    WHERE run_id IS NOT NULL
    GROUP BY project, workflow, run_id
)
SELECT *, coalesce(started_at, ended_at) AS began
FROM per_run
