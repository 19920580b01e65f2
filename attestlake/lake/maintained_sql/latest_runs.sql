-- Each project's workflow's latest successful run (by started_at, then finished_at, then
-- manifest digest; a NULL status counts as success): every column of runs, then the runner
-- environment its verified statement records (GitHub's RUNNER_ENVIRONMENT), the names of its
-- materials, whether SLSA provenance was signed beside it, and whether a verified SLSA
-- verification summary that PASSED with SLSA_BUILD_LEVEL_3 names one of its subjects.
WITH latest AS (
    SELECT *
    FROM runs
    WHERE coalesce(status, 'success') = 'success'
    QUALIFY row_number() OVER (
        PARTITION BY project, workflow
        ORDER BY started_at DESC NULLS LAST, finished_at DESC NULLS LAST, manifest_digest DESC
    ) = 1
)
SELECT
    l.*,
    json_extract_string(
        a.statement, '$.predicate.runner.environment.RUNNER_ENVIRONMENT'
    ) AS runner_environment,
    coalesce(
        (
            SELECT list(m.name ORDER BY m.name)
            FROM materials AS m
            WHERE m.manifest_digest = l.manifest_digest
                AND m.run_id IS NOT DISTINCT FROM l.run_id
                AND coalesce(m.envelope_digest, l.envelope_digest)
                    IS NOT DISTINCT FROM l.envelope_digest
        ),
        []
    ) AS material_names,
    EXISTS (
        SELECT 1 FROM provenance AS p WHERE p.manifest_digest = l.manifest_digest
    ) AS slsa_provenance,
    EXISTS (
        SELECT 1
        FROM subjects AS s
        JOIN subjects AS vs ON vs.digest = s.digest
        JOIN verification_summaries AS v
            ON v.manifest_digest = vs.manifest_digest
            AND v.envelope_digest = vs.envelope_digest
        WHERE s.manifest_digest = l.manifest_digest
            AND s.envelope_digest = l.envelope_digest
            AND upper(v.verification_result) = 'PASSED'
            AND contains(v.verified_levels, 'SLSA_BUILD_LEVEL_3')
    ) AS vsa_level_3
FROM latest AS l
LEFT JOIN attestations AS a
    ON a.manifest_digest = l.manifest_digest
    AND a.envelope_digest = l.envelope_digest
    AND a.trusted
