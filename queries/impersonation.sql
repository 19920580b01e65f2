-- title: Impersonation: valid signatures from the wrong signer
-- description: Envelopes whose signature holds but whose signer is not trusted for what the
--   statement claims: verification reason untrusted_signer with a signer identity, that is a
--   policy key or a keyless identity scoped to other projects or workflows, or a keyless
--   identity the policy does not list. project and workflow are the statement's (unverified)
--   claim; signer_trusted_for lists the project/workflow pairs whose verified runs the same
--   signer signed. An unknown key (no identity, only a key id) is not reported here: it is in
--   verification_failures.
-- severity: critical
-- finding: manifest_digest, envelope_digest
SELECT
    project,
    workflow,
    signer,
    issuer,
    key_id,
    predicate_type,
    run_id,
    signer_trusted_for,
    detail,
    source,
    manifest_digest,
    envelope_digest,
    crawled_at
FROM impersonations
ORDER BY project, workflow, signer, source, envelope_digest
