-- The crawl units a lake kept, in the order the crawls first read them: every blobs row, and
-- for a document kept without its statement (statement_at) the statements the lake holds
-- under its statement digest (attestations.statement, whichever manifest's row holds it: a
-- replayed statement's row is its anchor's), to put back and check against its digest.
WITH said AS (
    SELECT statement_digest, list(DISTINCT statement) AS statements
    FROM attestations
    WHERE statement IS NOT NULL AND statement_digest IS NOT NULL
    GROUP BY statement_digest
),
cut AS (
    SELECT
        verifications.manifest_digest,
        verifications.envelope_digest,
        list_distinct(flatten(list(said.statements))) AS statements
    FROM verifications
    JOIN said ON said.statement_digest = verifications.statement_digest
    GROUP BY verifications.manifest_digest, verifications.envelope_digest
)
SELECT blobs.*, cut.statements
FROM blobs
LEFT JOIN cut
    ON blobs.statement_at IS NOT NULL
    AND cut.manifest_digest = blobs.manifest_digest
    AND cut.envelope_digest = blobs.digest
ORDER BY blobs.seen_at, blobs.crawl_id, blobs.crawl_batch, blobs.unit_index, blobs.part
