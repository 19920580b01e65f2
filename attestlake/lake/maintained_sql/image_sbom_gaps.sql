-- Each container image a successful run output (a CONTAINER_IMAGE material with output =
-- true) without an SBOM that describes it: the run records no SBOM material ('no SBOM in
-- run'), one without a digest ('SBOM without digest'), or SBOMs whose main component states a
-- sha256 that is none of the run's output image digests ('SBOM describes another digest',
-- sbom_main_digest says which).
WITH images AS (
    SELECT
        r.project,
        r.workflow,
        r.team,
        r.run_id,
        r.started_at,
        r.manifest_digest,
        m.envelope_digest,
        m.value AS image,
        m.digest AS image_digest
    FROM runs AS r
    JOIN materials AS m
        ON m.manifest_digest = r.manifest_digest
        AND m.run_id IS NOT DISTINCT FROM r.run_id
        AND coalesce(m.envelope_digest, r.envelope_digest) IS NOT DISTINCT FROM r.envelope_digest
    WHERE m.type = 'CONTAINER_IMAGE'
        AND m.output
        AND coalesce(r.status, 'success') = 'success'
),
sboms AS (
    SELECT
        manifest_digest,
        run_id,
        envelope_digest,
        count(*) AS sbom_count,
        count(digest) AS sbom_with_digest
    FROM materials
    WHERE starts_with(type, 'SBOM_')
    GROUP BY manifest_digest, run_id, envelope_digest
),
elsewhere AS (
    SELECT
        s.manifest_digest,
        s.run_id,
        s.envelope_digest,
        min(s.sbom_main_digest) AS sbom_main_digest
    FROM materials AS s
    WHERE starts_with(s.type, 'SBOM_')
        AND s.sbom_main_digest IS NOT NULL
        AND NOT EXISTS (
            SELECT 1
            FROM materials AS i
            WHERE i.manifest_digest = s.manifest_digest
                AND i.run_id IS NOT DISTINCT FROM s.run_id
                AND i.envelope_digest IS NOT DISTINCT FROM s.envelope_digest
                AND i.type = 'CONTAINER_IMAGE'
                AND i.output
                AND i.digest = s.sbom_main_digest
        )
    GROUP BY s.manifest_digest, s.run_id, s.envelope_digest
)
SELECT
    i.project,
    i.workflow,
    i.team,
    i.run_id,
    i.started_at,
    i.manifest_digest,
    i.image,
    i.image_digest,
    CASE
        WHEN s.manifest_digest IS NULL THEN 'no SBOM in run'
        WHEN s.sbom_with_digest < s.sbom_count THEN 'SBOM without digest'
        ELSE 'SBOM describes another digest'
    END AS problem,
    e.sbom_main_digest
FROM images AS i
LEFT JOIN sboms AS s
    ON s.manifest_digest = i.manifest_digest
    AND s.run_id IS NOT DISTINCT FROM i.run_id
    AND s.envelope_digest IS NOT DISTINCT FROM i.envelope_digest
LEFT JOIN elsewhere AS e
    ON e.manifest_digest = i.manifest_digest
    AND e.run_id IS NOT DISTINCT FROM i.run_id
    AND e.envelope_digest IS NOT DISTINCT FROM i.envelope_digest
WHERE s.manifest_digest IS NULL
    OR s.sbom_with_digest < s.sbom_count
    OR e.manifest_digest IS NOT NULL
