-- title: Policy violations recorded at push
-- description: The violations that the policies of its contract found in the latest successful
--   run (by started_at) of each project's workflow, as its verified run statement recorded
--   them at attest push (policy_violations): the run went through because those policies do
--   not gate, so its team was warned and shipped anyway. One row per recorded violation;
--   violations is how many the policy found in that run (a statement records at most 100),
--   policy_severity the policy's own severity. A workflow whose latest run met its policies
--   is not listed, whatever its earlier runs did (policy eval --lake judges every run).
-- severity: low
-- finding: project, workflow, policy
WITH ranked AS (
    SELECT
        r.*,
        row_number() OVER (
            PARTITION BY r.project, r.workflow
            ORDER BY r.started_at DESC NULLS LAST, r.finished_at DESC NULLS LAST,
                r.manifest_digest DESC
        ) AS recency
    FROM runs AS r
    WHERE coalesce(r.status, 'success') = 'success'
)
SELECT
    l.team,
    l.project,
    l.workflow,
    l.run_id,
    l.started_at,
    l.contract_name,
    l.contract_revision,
    v.policy_name AS policy,
    v.gate,
    e.severity AS policy_severity,
    e.violations,
    v.violation,
    l.runner_url
FROM ranked AS l
JOIN policy_violations AS v
    ON v.manifest_digest = l.manifest_digest AND v.envelope_digest = l.envelope_digest
LEFT JOIN policy_evaluations AS e
    ON e.manifest_digest = v.manifest_digest
    AND e.envelope_digest = v.envelope_digest
    AND e.policy_name = v.policy_name
WHERE l.recency = 1
ORDER BY l.project, l.workflow, policy, v.position
