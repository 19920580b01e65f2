-- The crawl units a lake kept, in the order the crawls first read them: every blobs row, and
-- for a document kept without its statement (statement_at) a statement the lake holds under
-- its statement digest (attestations.statement, whichever manifest's row holds it: a
-- replayed statement's row is its anchor's), to put back and check against its digest.
WITH said AS (
    SELECT statement_digest, any_value(statement) AS statement
    FROM attestations
    WHERE statement IS NOT NULL AND statement_digest IS NOT NULL
    GROUP BY statement_digest
),
signed AS (
    SELECT manifest_digest, envelope_digest, any_value(statement_digest) AS statement_digest
    FROM verifications
    WHERE statement_digest IS NOT NULL
    GROUP BY manifest_digest, envelope_digest
)
SELECT blobs.*, said.statement AS kept_statement
FROM blobs
LEFT JOIN signed
    ON blobs.statement_at IS NOT NULL
    AND signed.manifest_digest = blobs.manifest_digest
    AND signed.envelope_digest = blobs.digest
LEFT JOIN said ON said.statement_digest = signed.statement_digest
ORDER BY blobs.seen_at, blobs.crawl_id, blobs.crawl_batch, blobs.unit_index, blobs.part
