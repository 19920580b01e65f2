-- Each artifact digest that the verified run statements of two or more project/workflow
-- pairs name as an output (subject; the attestlake.run/ subjects that stand for a run left
-- out), one row per digest and workflow claiming it: its artifact names, how many of its
-- successful runs did, the first of them and when.
WITH produced AS (
    SELECT
        s.digest,
        s.name AS artifact,
        r.project,
        r.workflow,
        r.team,
        r.run_id,
        r.started_at
    FROM subjects AS s
    JOIN runs AS r
        ON r.manifest_digest = s.manifest_digest AND r.envelope_digest = s.envelope_digest
    WHERE s.digest IS NOT NULL
        AND NOT starts_with(s.name, 'attestlake.run/')
        AND coalesce(r.status, 'success') = 'success'
),
shared AS (
    SELECT digest
    FROM produced
    GROUP BY digest
    HAVING count(DISTINCT [project, workflow]) > 1
)
SELECT
    p.digest,
    p.project,
    p.workflow,
    min(p.team) AS team,
    string_agg(DISTINCT p.artifact, ', ' ORDER BY p.artifact) AS artifacts,
    count(DISTINCT p.run_id) AS runs,
    -- the earliest run; of runs started at once, the lowest run id
    arg_min(p.run_id, (p.started_at, p.run_id)) FILTER (
        WHERE p.started_at IS NOT NULL AND p.run_id IS NOT NULL
    ) AS first_run_id,
    min(p.started_at) AS started_at
FROM produced AS p
JOIN shared USING (digest)
GROUP BY p.digest, p.project, p.workflow
