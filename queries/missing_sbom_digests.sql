-- title: Container images shipped without an SBOM digest
-- description: Successful runs that output a container image (a CONTAINER_IMAGE material with
--   output = true) but record no SBOM material (type SBOM_*) at all, record an SBOM material
--   without a digest, or record SBOMs whose main component states a sha256
--   (materials.sbom_main_digest) that is none of the run's output image digests: the SBOM
--   describes another image (often the previous build's). One row per image; problem is 'no
--   SBOM in run', 'SBOM without digest' or 'SBOM describes another digest'
--   (sbom_main_digest says which). An SBOM whose main component states no digest is not
--   judged.
-- severity: high
-- finding: image_digest
-- param: since = 1970-01-01 : only runs started on or after this date (YYYY-MM-DD, UTC)
SELECT
    project,
    workflow,
    team,
    run_id,
    started_at,
    image,
    image_digest,
    problem,
    sbom_main_digest
FROM image_sbom_gaps
WHERE (started_at AT TIME ZONE 'UTC') >= CAST($since AS DATE)
ORDER BY project, workflow, started_at, run_id, image, manifest_digest
