-- title: Failing, cancelled and expired runs
-- description: Per project's workflow, over its runs that started (or, with no start record,
--   ended) on or after since: how many succeeded, failed, were cancelled (attest reset), or
--   expired (a start record and no end record, the start older than expire_after), and the
--   failure ratio: failed + cancelled + expired over all of them but those still running. A
--   workflow is reported once that ratio reaches min_ratio. Runs only expire when their CI
--   records the start ('attest init' with a store and a signer). last_reason is the reason
--   given for the newest failed or cancelled run. Read from run_events, every lifecycle record.
-- severity: medium
-- finding: project, workflow
-- param: since = 7 days : the window: runs started on or after this instant (a duration before now, or an ISO date or timestamp)
-- param: expire_after = 24 hours : a start with no end record counts as expired once older than this (a duration, or the instant before which starts have expired)
-- param: min_ratio = 0.2 : the failure ratio (0 to 1) from which a workflow is reported
WITH judged AS (
    SELECT
        *,
        CASE
            WHEN outcome IS NOT NULL THEN outcome
            WHEN started_at < CAST($expire_after AS TIMESTAMPTZ) THEN 'expired'
            ELSE 'running'
        END AS state
    FROM run_outcomes
    WHERE began >= CAST($since AS TIMESTAMPTZ)
),
counted AS (
    SELECT
        project,
        workflow,
        any_value(team) AS team,
        count(*) FILTER (WHERE state = 'success') AS succeeded,
        count(*) FILTER (WHERE state = 'failed') AS failed,
        count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
        count(*) FILTER (WHERE state = 'expired') AS expired,
        count(*) FILTER (WHERE state = 'running') AS running,
        max(began) FILTER (WHERE state IN ('failed', 'cancelled', 'expired')) AS last_failure_at,
        arg_max(reason, ended_at) FILTER (WHERE state IN ('failed', 'cancelled')) AS last_reason
    FROM judged
    GROUP BY project, workflow
)
SELECT
    project,
    workflow,
    team,
    succeeded,
    failed,
    cancelled,
    expired,
    running,
    round((failed + cancelled + expired) / (succeeded + failed + cancelled + expired), 3)
        AS failure_ratio,
    last_failure_at,
    last_reason
FROM counted
WHERE failed + cancelled + expired > 0
    AND (failed + cancelled + expired) / (succeeded + failed + cancelled + expired)
        >= CAST($min_ratio AS DOUBLE)
ORDER BY failure_ratio DESC, project, workflow
