-- The documents whose verdict a re-evaluation changed: every verdict of the scratch lake
-- (after_*), each document's (verifications, by manifest and envelope digest) and each
-- published revision's (published_documents, by manifest and file digest), beside the lake's
-- verdict for the same document (before_*), if any. One row per document the scratch lake
-- judged (a digest pair judged twice counts once, a published revision's over an envelope's)
-- whose status moved into or out of $verified ('trusted', 'untrusted'), or that the lake had
-- not judged or judged with another status, reason or signer ('reason').
WITH before_all AS (
    SELECT manifest_digest, envelope_digest AS digest, status, reason, signer, 0 AS kind
    FROM before_verifications
    UNION ALL
    SELECT manifest_digest, digest, status, reason, signer, 1 AS kind
    FROM before_published
),
before AS (
    SELECT * FROM before_all
    QUALIFY row_number() OVER (
        PARTITION BY manifest_digest, digest
        ORDER BY kind DESC, status, reason, signer
    ) = 1
),
after_all AS (
    SELECT
        manifest_digest,
        envelope_digest AS digest,
        source,
        predicate_type,
        run_id,
        workflow,
        project,
        status,
        reason,
        signer,
        detail,
        0 AS kind
    FROM after_verifications
    UNION ALL
    SELECT
        manifest_digest,
        digest,
        source,
        $declaration AS predicate_type,
        NULL AS run_id,
        NULL AS workflow,
        NULL AS project,
        status,
        reason,
        signer,
        detail,
        1 AS kind
    FROM after_published
),
after AS (
    SELECT * FROM after_all
    QUALIFY row_number() OVER (
        PARTITION BY manifest_digest, digest
        ORDER BY kind DESC, status, reason, signer, source, detail
    ) = 1
),
judged AS (
    SELECT
        CASE
            WHEN a.status = $verified AND b.status IS DISTINCT FROM $verified THEN 'trusted'
            WHEN b.status = $verified AND a.status IS DISTINCT FROM $verified THEN 'untrusted'
            WHEN b.kind IS NULL
                OR a.status IS DISTINCT FROM b.status
                OR a.reason IS DISTINCT FROM b.reason
                OR a.signer IS DISTINCT FROM b.signer
                THEN 'reason'
        END AS change,
        a.manifest_digest,
        a.digest AS envelope_digest,
        a.source,
        a.predicate_type,
        a.run_id,
        a.workflow,
        a.project,
        b.status AS status_before,
        b.reason AS reason_before,
        b.signer AS signer_before,
        a.status AS status_after,
        a.reason AS reason_after,
        a.signer AS signer_after,
        a.detail AS detail_after
    FROM after AS a
    LEFT JOIN before AS b
        ON b.manifest_digest IS NOT DISTINCT FROM a.manifest_digest
        AND b.digest IS NOT DISTINCT FROM a.digest
)
SELECT *
FROM judged
WHERE change IS NOT NULL
ORDER BY manifest_digest, envelope_digest
