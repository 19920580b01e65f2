-- title: No component under a denied licence
-- description: No component of a trusted SBOM of a run declares a licence on the deny list
--   (SPDX ids or names, compared exactly, any case). One row per component and run.
-- severity: high
-- gate: true
-- finding: run_id
-- reads: SBOM_CYCLONEDX_JSON, SBOM_SPDX_JSON
-- param: deny = GPL-3.0-only,GPL-3.0-or-later,AGPL-3.0-only,AGPL-3.0-or-later,SSPL-1.0 : the licences no shipped component may carry, separated by commas
WITH denied AS (
    SELECT lower(trim(unnest(string_split($deny, ',')))) AS licence
)
SELECT DISTINCT
    r.run_id,
    r.project,
    r.workflow,
    r.team,
    c.name AS component,
    c.version,
    c.purl,
    lic AS licence,
    'component ' || c.name || ' ' || coalesce(c.version, '') || ' is under ' || lic AS violation
FROM sbom_components AS c
JOIN runs AS r ON r.manifest_digest = c.manifest_digest AND r.envelope_digest = c.envelope_digest
CROSS JOIN unnest(CAST(c.licenses AS VARCHAR[])) AS l(lic)
WHERE c.trusted AND c.licenses IS NOT NULL
    AND lower(lic) IN (SELECT licence FROM denied WHERE licence <> '')
ORDER BY r.project, r.workflow, r.run_id, component
