-- The verified runs that built the artifact with sha256 digest $digest (a subject of their
-- signed run statement), newest first, with what the gate checks of each: the run's status,
-- whether its workflow is in the current inventory, and the contract revision it was checked
-- against beside the newest revision SecOps published (trusted declared state only).
WITH built AS (
    SELECT DISTINCT
        r.run_id,
        r.project,
        r.workflow,
        r.team,
        coalesce(r.status, 'success') AS status,
        r.contract_name,
        r.contract_revision,
        r.started_at,
        r.signer,
        r.source,
        r.envelope_digest,
        s.name AS artifact,
        EXISTS (
            SELECT 1 FROM provenance AS p
            JOIN subjects AS ps
                ON ps.manifest_digest = p.manifest_digest
                AND ps.envelope_digest = p.envelope_digest
            WHERE ps.digest = $digest
        ) AS has_provenance
    FROM subjects AS s
    JOIN runs AS r ON r.run_id = s.run_id AND r.manifest_digest = s.manifest_digest
    WHERE s.digest = $digest
)
SELECT
    b.*,
    EXISTS (
        SELECT 1 FROM current_inventory AS i
        WHERE i.project = b.project AND i.workflow = b.workflow
    ) AS in_inventory,
    (
        SELECT max(p.revision) FROM published_documents AS p
        WHERE p.kind = 'contract' AND p.name = b.contract_name AND p.status = 'verified'
    ) AS current_revision
FROM built AS b
ORDER BY b.started_at DESC, b.run_id
