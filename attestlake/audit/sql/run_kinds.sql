-- Each successful run of the lake (by run id) with the material kinds it has, as a policy's
-- "-- reads:" header names them: the types of its materials, and SLSA_PROVENANCE when trusted
-- SLSA provenance names the run. A policy that reads kinds none of which a run has is skipped
-- for that run, at attest push and across a lake alike.
WITH judged AS (
    SELECT DISTINCT run_id, manifest_digest
    FROM runs
    WHERE coalesce(status, 'success') = 'success' AND run_id IS NOT NULL
),
kinds AS (
    SELECT j.run_id, m.type AS kind
    FROM judged AS j
    JOIN materials AS m ON m.manifest_digest = j.manifest_digest AND m.run_id = j.run_id
    WHERE m.type IS NOT NULL
    UNION
    SELECT j.run_id, 'SLSA_PROVENANCE' AS kind
    FROM judged AS j
    WHERE EXISTS (SELECT 1 FROM provenance AS p WHERE p.run_id = j.run_id)
)
SELECT j.run_id, list(DISTINCT k.kind) FILTER (WHERE k.kind IS NOT NULL) AS kinds
FROM judged AS j
LEFT JOIN kinds AS k ON k.run_id = j.run_id
GROUP BY j.run_id
ORDER BY j.run_id
