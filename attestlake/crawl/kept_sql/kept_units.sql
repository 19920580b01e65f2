-- The crawl units a lake kept, in the order the crawls first read them, for the crawl
-- batches of reading (crawl_id, crawl_batch): their blobs rows with a seen_at ($dated),
-- or, every batch's, those without one (NOT $dated: after every dated row, as ORDER BY puts
-- NULLs last), and for a document kept without its statement (statement_at) a
-- statement the lake holds under its statement digest (attestations.statement, whichever
-- manifest's row holds it: a replayed statement's row is its anchor's), to put back and check
-- against its digest. Run once per window of batches (attestlake.crawl.kept_reading), so
-- that no sort or join holds more than their rows: one sort of every kept file does not fit
-- in a bounded session at 100k runs.
WITH kept AS (
    SELECT *
    FROM blobs
    WHERE (seen_at IS NOT NULL) = $dated
        -- the window's times and batches: the row groups of others are skipped by their
        -- statistics (files hold the rows in the order the crawls wrote them)
        AND ($first_seen IS NULL OR seen_at BETWEEN $first_seen AND $last_seen)
        AND ($first_batch IS NULL OR crawl_batch BETWEEN $first_batch AND $last_batch)
        AND (
            NOT $dated
            OR EXISTS (
                SELECT 1
                FROM reading AS r
                WHERE r.crawl_id IS NOT DISTINCT FROM blobs.crawl_id
                    AND r.crawl_batch IS NOT DISTINCT FROM blobs.crawl_batch
            )
        )
),
signed AS (
    SELECT manifest_digest, envelope_digest, any_value(statement_digest) AS statement_digest
    FROM verifications
    WHERE statement_digest IS NOT NULL
        AND manifest_digest IN (SELECT manifest_digest FROM kept WHERE statement_at IS NOT NULL)
    GROUP BY manifest_digest, envelope_digest
),
said AS (
    SELECT statement_digest, any_value(statement) AS statement
    FROM attestations
    WHERE statement IS NOT NULL
        AND statement_digest IN (SELECT statement_digest FROM signed)
    GROUP BY statement_digest
)
SELECT kept.*, said.statement AS kept_statement
FROM kept
LEFT JOIN signed
    ON kept.statement_at IS NOT NULL
    AND signed.manifest_digest = kept.manifest_digest
    AND signed.envelope_digest = kept.digest
LEFT JOIN said ON said.statement_digest = signed.statement_digest
ORDER BY kept.seen_at, kept.crawl_id, kept.crawl_batch, kept.unit_index, kept.part
