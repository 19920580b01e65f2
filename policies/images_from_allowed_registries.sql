-- title: Images only from allowed registries, by digest
-- description: Every image a successful run shipped is in one of the allowed registries (the
--   host part of its reference, compared exactly) and is named by digest (NAME@sha256:...).
--   The allowed registries are the organisation's: the policy runs when they are given
--   (policy eval --param images_from_allowed_registries.allowed=...).
-- severity: medium
-- gate: true
-- finding: run_id
-- reads: CONTAINER_IMAGE
-- param: allowed : the registry hosts images may come from, separated by commas (e.g. ghcr.io,registry.example.com)
WITH allowed AS (
    SELECT lower(trim(unnest(string_split($allowed, ',')))) AS host
)
SELECT
    r.run_id,
    r.project,
    r.workflow,
    r.team,
    m.value AS image,
    CASE
        WHEN lower(split_part(m.value, '/', 1)) NOT IN (SELECT host FROM allowed)
            THEN 'image from ' || split_part(m.value, '/', 1) || ', not an allowed registry'
        ELSE 'image not named by digest'
    END AS violation
FROM runs AS r
JOIN materials AS m
    ON m.manifest_digest = r.manifest_digest AND m.run_id IS NOT DISTINCT FROM r.run_id
WHERE m.type = 'CONTAINER_IMAGE' AND m.output AND coalesce(r.status, 'success') = 'success'
    AND (
        lower(split_part(m.value, '/', 1)) NOT IN (SELECT host FROM allowed)
        OR NOT contains(m.value, '@sha256:')
    )
ORDER BY r.project, r.workflow, r.run_id
