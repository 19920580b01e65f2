-- title: Inventory workflows never integrated
-- description: Workflows of the latest inventory revision with no verified attestation at all:
--   no run of any status in runs or run_events (matched on project and workflow). The
--   inventory announces them, yet nothing in the lake shows they are built under a contract.
--   unverified_envelopes counts envelopes that claim the workflow but failed verification (a
--   signing set-up to fix, or someone else's claim); listed_since is when the first inventory
--   revision that lists it was published.
-- severity: medium
-- finding: project, workflow
-- requires: inventory
WITH expected AS (
    SELECT
        project,
        workflow,
        any_value(team) AS team,
        any_value(owner) AS owner,
        any_value(contract) AS contract,
        any_value(cadence) AS cadence
    FROM current_inventory
    GROUP BY project, workflow
),
listed AS (
    SELECT project, workflow, min(published_at) AS listed_since
    FROM inventory
    GROUP BY project, workflow
)
SELECT
    e.project,
    e.workflow,
    e.team,
    e.owner,
    e.contract,
    e.cadence,
    l.listed_since,
    coalesce(a.unverified_envelopes, 0) AS unverified_envelopes
FROM expected AS e
JOIN listed AS l ON l.project = e.project AND l.workflow = e.workflow
LEFT JOIN workflow_activity AS a ON a.project = e.project AND a.workflow = e.workflow
WHERE coalesce(a.runs, 0) = 0 AND coalesce(a.run_events, 0) = 0
ORDER BY e.project, e.workflow
