-- The crawl batches whose units a lake kept (blobs), each with the first and last time its
-- rows say the lake saw a unit (NULLs left out) and the bytes of its kept files, in the order
-- of those first times: a re-evaluation reads the units back a few batches at a time, in the
-- order kept_units gives.
SELECT
    crawl_id,
    crawl_batch,
    min(seen_at) AS first_seen,
    max(seen_at) AS last_seen,
    sum(octet_length(content)) AS bytes
FROM blobs
WHERE seen_at IS NOT NULL
GROUP BY crawl_id, crawl_batch
ORDER BY first_seen, crawl_id NULLS LAST, crawl_batch NULLS LAST
