-- title: Container images shipped without an SBOM digest
-- description: Runs that output a container image (a CONTAINER_IMAGE material with
--   output = true) but record no SBOM material (type SBOM_*) at all, or record an SBOM
--   material without a digest. One row per image; problem is 'no SBOM in run' or
--   'SBOM without digest'.
-- severity: high
-- param: since = 1970-01-01 : only runs started on or after this date (YYYY-MM-DD, UTC)
WITH images AS (
    SELECT
        r.project,
        r.workflow,
        r.team,
        r.run_id,
        r.started_at,
        r.manifest_digest,
        m.value AS image,
        m.digest AS image_digest
    FROM runs AS r
    JOIN materials AS m ON m.manifest_digest = r.manifest_digest
    WHERE m.type = 'CONTAINER_IMAGE'
        AND m.output
        AND (r.started_at AT TIME ZONE 'UTC') >= CAST($since AS DATE)
),
sboms AS (
    SELECT
        manifest_digest,
        count(*) AS sbom_count,
        count(digest) AS sbom_with_digest
    FROM materials
    WHERE starts_with(type, 'SBOM_')
    GROUP BY manifest_digest
)
SELECT
    i.project,
    i.workflow,
    i.team,
    i.run_id,
    i.started_at,
    i.image,
    i.image_digest,
    CASE
        WHEN s.manifest_digest IS NULL THEN 'no SBOM in run'
        ELSE 'SBOM without digest'
    END AS problem
FROM images AS i
LEFT JOIN sboms AS s ON s.manifest_digest = i.manifest_digest
WHERE s.manifest_digest IS NULL OR s.sbom_with_digest < s.sbom_count
ORDER BY i.project, i.workflow, i.started_at, i.run_id, i.image, i.manifest_digest
