-- Each envelope whose signature holds but whose signer is not trusted for what its statement
-- claims: verification reason untrusted_signer with a signer identity (a policy key or
-- keyless identity scoped to other projects or workflows, or a keyless identity the policy
-- does not list). project and workflow are the statement's unverified claim;
-- signer_trusted_for lists the project/workflow pairs whose verified runs the same signer
-- signed, sorted.
SELECT
    v.project,
    v.workflow,
    v.signer,
    v.issuer,
    v.key_id,
    v.predicate_type,
    v.run_id,
    (
        SELECT string_agg(
            DISTINCT r.project || '/' || r.workflow, ', ' ORDER BY r.project || '/' || r.workflow
        )
        FROM runs AS r
        WHERE r.signer = v.signer
    ) AS signer_trusted_for,
    v.detail,
    v.source,
    v.manifest_digest,
    v.envelope_digest,
    v.crawled_at
FROM verifications AS v
WHERE v.status IS DISTINCT FROM 'verified'
    AND v.reason = 'untrusted_signer'
    AND v.signer IS NOT NULL
