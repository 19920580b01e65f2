-- title: SBOM components without hashes or purl
-- description: Components of trusted SBOMs (sbom_components.trusted: from verified
--   statements, or evidence whose digest a verified statement names) that state no hash, or no
--   package URL (purl): a scanner cannot match them to a vulnerability database, nor anyone
--   check that the shipped file is the one listed. One row per workflow and component version;
--   missing is 'hashes', 'purl' or 'hashes and purl'; sboms counts the SBOMs that list it so,
--   last_listed_at is when the newest of their runs started. An SBOM that is not a run's
--   evidence (another tool's statement) shows its sbom_name, with no workflow.
-- severity: low
-- finding: project, workflow, sbom_name
WITH components AS (
    SELECT
        r.project,
        r.workflow,
        r.team,
        r.started_at,
        c.sbom_name,
        c.manifest_digest,
        c.envelope_digest,
        c.sbom_digest,
        c.name,
        c.version,
        c.purl,
        c.hashes IS NULL OR c.hashes IN ('', '{}') AS no_hashes,
        c.purl IS NULL OR c.purl = '' AS no_purl
    FROM sbom_components AS c
    LEFT JOIN runs AS r ON r.manifest_digest = c.manifest_digest
    WHERE c.trusted
)
SELECT
    project,
    workflow,
    any_value(team) AS team,
    CASE WHEN workflow IS NULL THEN sbom_name END AS sbom_name,
    name AS component,
    version,
    purl,
    CASE
        WHEN no_hashes AND no_purl THEN 'hashes and purl'
        WHEN no_hashes THEN 'hashes'
        ELSE 'purl'
    END AS missing,
    count(DISTINCT (manifest_digest, envelope_digest, sbom_digest)) AS sboms,
    max(started_at) AS last_listed_at
FROM components
WHERE no_hashes OR no_purl
GROUP BY ALL
ORDER BY project, workflow, sbom_name, component, version, purl
