-- title: Attestations that failed verification
-- description: Every envelope the crawler saw whose status is not 'verified' (bad
--   signature, untrusted signer, no trust material, unsupported or malformed). None of
--   these reached the trusted tables; project, workflow and predicate_type come from the
--   unverified payload and may be forged.
-- severity: critical
-- finding: manifest_digest, envelope_digest
SELECT
    source,
    manifest_digest,
    envelope_digest,
    reason,
    detail,
    signer,
    key_id,
    predicate_type,
    project,
    workflow,
    crawled_at
FROM verifications
WHERE status IS DISTINCT FROM 'verified'
ORDER BY reason, source, manifest_digest, envelope_digest
