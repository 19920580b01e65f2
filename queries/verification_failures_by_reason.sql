-- title: Verification failures by reason
-- description: Envelopes that failed verification, counted by reason (bad_signature,
--   untrusted_signer, no_trust_material, unsupported, malformed): how many envelopes and crawl
--   units, how many distinct signers (identity or key id), the project/workflow pairs they
--   claim (unverified claims, '?' when unknown), and when they were first and last crawled.
--   The overview to watch from one report to the next; verification_failures lists each
--   envelope and carries the critical severity.
-- severity: info
-- finding: reason
-- param: since = 1970-01-01 : only envelopes crawled on or after this date (YYYY-MM-DD, UTC)
SELECT
    reason,
    count(*) AS envelopes,
    count(DISTINCT manifest_digest) AS crawl_units,
    count(DISTINCT coalesce(signer, key_id)) AS signers,
    string_agg(
        DISTINCT coalesce(project, '?') || '/' || coalesce(workflow, '?'),
        ', '
        ORDER BY coalesce(project, '?') || '/' || coalesce(workflow, '?')
    ) AS claimed_workflows,
    min(crawled_at) AS first_crawled_at,
    max(crawled_at) AS last_crawled_at
FROM verifications
WHERE status IS DISTINCT FROM 'verified'
    AND (crawled_at AT TIME ZONE 'UTC') >= CAST($since AS DATE)
GROUP BY reason
ORDER BY envelopes DESC, reason
