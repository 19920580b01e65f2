-- Each project's workflow the lake names in a run, a lifecycle record or an envelope that
-- failed verification (project and workflow NULL when they say none): how many runs it has,
-- the team they name (the lowest, when several; NULL without runs) and when the newest
-- successful one ended (or started, with no end; a NULL status counts as success); how many
-- lifecycle records, the newest one's status and time; and how many envelopes that claim it
-- failed verification.
WITH ran AS (
    SELECT
        project,
        workflow,
        min(team) AS team,
        count(*) AS runs,
        max(coalesce(finished_at, started_at)) FILTER (
            WHERE coalesce(status, 'success') = 'success'
        ) AS last_success_at
    FROM runs
    GROUP BY project, workflow
),
recorded AS (
    SELECT
        project,
        workflow,
        count(*) AS run_events,
        arg_max(status, event_at) AS last_event,
        max(event_at) AS last_event_at
    FROM run_events
    GROUP BY project, workflow
),
claimed AS (
    SELECT project, workflow, count(*) AS unverified_envelopes
    FROM verifications
    WHERE status IS DISTINCT FROM 'verified'
    GROUP BY project, workflow
),
named AS (
    SELECT project, workflow FROM ran
    UNION
    SELECT project, workflow FROM recorded
    UNION
    SELECT project, workflow FROM claimed
)
SELECT
    n.project,
    n.workflow,
    r.team,
    coalesce(r.runs, 0) AS runs,
    r.last_success_at,
    coalesce(e.run_events, 0) AS run_events,
    e.last_event,
    e.last_event_at,
    coalesce(c.unverified_envelopes, 0) AS unverified_envelopes
FROM named AS n
LEFT JOIN ran AS r
    ON r.project IS NOT DISTINCT FROM n.project AND r.workflow IS NOT DISTINCT FROM n.workflow
LEFT JOIN recorded AS e
    ON e.project IS NOT DISTINCT FROM n.project AND e.workflow IS NOT DISTINCT FROM n.workflow
LEFT JOIN claimed AS c
    ON c.project IS NOT DISTINCT FROM n.project AND c.workflow IS NOT DISTINCT FROM n.workflow
