-- Each component version of a trusted SBOM that states no hash, or no package URL (purl), by
-- project's workflow (an SBOM that is not a run's evidence: by sbom_name, with no workflow):
-- what is missing ('hashes', 'purl' or 'hashes and purl'), how many SBOMs list it so, and
-- when the newest of their runs started.
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
