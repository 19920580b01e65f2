-- title: SBOM components carry package URLs
-- description: Every component of a trusted SBOM of a run has a purl (the identifier
--   vulnerability databases match on). One row per run, counting its components without one.
-- severity: low
-- gate: false
-- finding: run_id
-- reads: SBOM_CYCLONEDX_JSON, SBOM_SPDX_JSON
SELECT
    r.run_id,
    r.project,
    r.workflow,
    r.team,
    count(*) AS components_without_purl,
    count(*) || ' SBOM component(s) without a purl, e.g. ' || min(c.name) AS violation
FROM sbom_components AS c
JOIN runs AS r ON r.manifest_digest = c.manifest_digest AND r.envelope_digest = c.envelope_digest
WHERE c.trusted AND (c.purl IS NULL OR c.purl = '')
GROUP BY ALL
ORDER BY r.project, r.workflow, r.run_id
