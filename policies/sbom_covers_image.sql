-- title: SBOM present and covering the image
-- description: Every image a successful run shipped has an SBOM material in the same run whose
--   main component states that image's digest. A run without an SBOM, or whose SBOM describes
--   another image or states no digest, violates it.
-- severity: high
-- gate: true
-- finding: run_id
-- reads: CONTAINER_IMAGE
WITH images AS (
    SELECT r.run_id, r.project, r.workflow, r.team, r.manifest_digest, r.envelope_digest,
        m.value AS image, m.digest AS image_digest
    FROM runs AS r
    JOIN materials AS m
        ON m.manifest_digest = r.manifest_digest AND m.run_id IS NOT DISTINCT FROM r.run_id
    WHERE m.type = 'CONTAINER_IMAGE' AND m.output AND coalesce(r.status, 'success') = 'success'
),
sboms AS (
    SELECT manifest_digest, run_id, list(sbom_main_digest) AS covered, count(*) AS n
    FROM materials
    WHERE starts_with(type, 'SBOM_')
    GROUP BY ALL
)
SELECT
    i.run_id,
    i.project,
    i.workflow,
    i.team,
    i.image,
    CASE
        WHEN s.n IS NULL THEN 'no SBOM material in the run'
        ELSE 'no SBOM of the run states the image digest ' || i.image_digest
    END AS violation
FROM images AS i
LEFT JOIN sboms AS s
    ON s.manifest_digest = i.manifest_digest AND s.run_id IS NOT DISTINCT FROM i.run_id
WHERE s.n IS NULL OR NOT list_contains(s.covered, i.image_digest)
ORDER BY i.project, i.workflow, i.run_id
