-- title: Stale workflows
-- description: Workflows of the latest inventory revision whose cadence says how often they
--   run (hourly, daily, weekly, monthly, or N hours/days/weeks; on-demand ones are never
--   stale) and whose last successful run ended longer ago than that cadence plus grace_hours,
--   as of checked_at. Only workflows that have attested something are judged: one that never
--   did is in never_integrated. last_event is the newest lifecycle record of any status (a
--   workflow that keeps failing is still active, but stale); overdue_hours is how far past
--   its cadence the last success is.
-- severity: medium
-- finding: project, workflow
-- requires: inventory
-- param: checked_at = 0 hours : the instant to judge at: a duration before now (0 hours: now) or an ISO timestamp
-- param: grace_hours = 2 : hours of slack past the cadence before a workflow counts as stale
WITH expected AS (
    SELECT
        project,
        workflow,
        any_value(team) AS team,
        any_value(owner) AS owner,
        arg_min(cadence, cadence_hours) AS cadence,
        min(cadence_hours) AS cadence_hours
    FROM current_inventory
    WHERE cadence_hours IS NOT NULL
    GROUP BY project, workflow
)
SELECT
    e.project,
    e.workflow,
    e.team,
    e.owner,
    e.cadence,
    a.last_success_at,
    a.last_event,
    a.last_event_at,
    round(
        date_diff('minute', a.last_success_at, CAST($checked_at AS TIMESTAMPTZ)) / 60.0
            - e.cadence_hours,
        1
    ) AS overdue_hours
FROM expected AS e
JOIN workflow_activity AS a
    ON a.project = e.project
    AND a.workflow = e.workflow
    AND (a.runs > 0 OR a.run_events > 0)
WHERE a.last_success_at IS NULL
    OR a.last_success_at + to_hours(e.cadence_hours + CAST($grace_hours AS INTEGER))
        < CAST($checked_at AS TIMESTAMPTZ)
ORDER BY e.project, e.workflow
