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
SELECT
    project,
    workflow,
    team,
    sbom_name,
    component,
    version,
    purl,
    missing,
    sboms,
    last_listed_at
FROM component_gaps
ORDER BY project, workflow, sbom_name, component, version, purl
