-- title: Images named by digest
-- description: Every image a successful run shipped is named by digest (NAME@sha256:<64 hex>,
--   with or without a tag), and that digest is the one the run records for it. An image
--   named by tag only can be moved to other content after the run attested it.
-- severity: medium
-- gate: true
-- finding: run_id
-- reads: CONTAINER_IMAGE
WITH images AS (
    SELECT
        r.run_id,
        r.project,
        r.workflow,
        r.team,
        m.name AS material,
        m.value AS image,
        m.digest,
        regexp_extract(coalesce(m.value, ''), '@(sha256:[0-9a-f]{64})$', 1) AS named
    FROM runs AS r
    JOIN materials AS m
        ON m.manifest_digest = r.manifest_digest AND m.run_id IS NOT DISTINCT FROM r.run_id
    WHERE m.type = 'CONTAINER_IMAGE' AND m.output AND coalesce(r.status, 'success') = 'success'
)
SELECT
    run_id,
    project,
    workflow,
    team,
    material,
    image,
    CASE
        WHEN named = '' THEN 'image ' || coalesce(image, '(no reference)') || ' is named by tag only, not by digest'
        WHEN digest IS NULL THEN 'image ' || image || ': the run records no digest for it'
        ELSE 'image ' || image || ' names another digest than the ' || digest || ' the run records'
    END AS violation
FROM images
WHERE named = '' OR digest IS NULL OR named <> digest
ORDER BY project, workflow, run_id, material
