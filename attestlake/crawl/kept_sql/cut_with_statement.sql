-- How many documents kept without their statement (blobs.statement_at) a lake's
-- verifications and attestations tables hold the statement of: run on the scratch lake of a
-- re-evaluation before its tables replace the lake's, so that none is left without one.
SELECT count(*) AS n
FROM blobs
WHERE blobs.statement_at IS NOT NULL
AND EXISTS (
    SELECT 1
    FROM verifications
    JOIN attestations ON attestations.statement_digest = verifications.statement_digest
    WHERE verifications.manifest_digest = blobs.manifest_digest
    AND verifications.envelope_digest = blobs.digest
    AND attestations.statement IS NOT NULL
)
