-- title: Trust changes: what a change of trust policy added and removed
-- description: Every document whose verdict changed when the lake's verdicts were made again
--   under another trust policy (attestlake reverify, or a crawl with another --trust), newest
--   re-evaluation first. change is trusted (its rows entered the trusted tables), untrusted
--   (its rows left them: a revoked or removed key, a narrowed scope) or reason (still not
--   trusted, for another reason or signer). policy_before and policy_after are the digests of
--   the two policies (verifications.policy_digest); project, workflow and run_id are the
--   statement's claims. latest = true (the default) lists the last re-evaluation only.
-- severity: info
-- finding: manifest_digest, envelope_digest
-- param: latest = true : true: the last re-evaluation only; false: every re-evaluation
WITH last AS (
    SELECT max(changed_at) AS at FROM trust_changes
)
SELECT
    t.changed_at,
    t.change,
    t.project,
    t.workflow,
    t.run_id,
    t.predicate_type,
    t.status_before,
    t.reason_before,
    t.signer_before,
    t.status_after,
    t.reason_after,
    t.signer_after,
    t.detail_after,
    t.policy_before,
    t.policy_after,
    t.source,
    t.manifest_digest,
    t.envelope_digest
FROM trust_changes AS t, last
WHERE $latest = 'false' OR t.changed_at = last.at
ORDER BY t.changed_at DESC, t.change, t.project, t.workflow, t.run_id, t.envelope_digest
