-- Each verified run of a project's workflow (of any status) signed by another signer than the
-- workflow's previous verified run (by started_at, then finished_at, then manifest digest):
-- another policy key or keyless identity (signer), or, when both runs were key-signed,
-- another key under the same policy entry (key_id; a keyless signature is one whose
-- verification names an issuer). With the previous signer, and how many of the workflow's
-- runs it signed that started before the change.
WITH signed AS (
    SELECT
        r.project,
        r.workflow,
        r.team,
        r.run_id,
        r.status,
        r.started_at,
        r.finished_at,
        r.manifest_digest,
        r.signer,
        r.key_id,
        v.issuer IS NOT NULL AS keyless
    FROM runs AS r
    LEFT JOIN verifications AS v
        ON v.manifest_digest = r.manifest_digest AND v.envelope_digest = r.envelope_digest
),
ordered AS (
    SELECT
        *,
        lag(signer) OVER w AS previous_signer,
        lag(key_id) OVER w AS previous_key_id,
        lag(run_id) OVER w AS previous_run_id,
        lag(keyless) OVER w AS previous_keyless
    FROM signed
    WINDOW w AS (
        PARTITION BY project, workflow
        ORDER BY started_at, finished_at, manifest_digest
    )
)
SELECT
    o.project,
    o.workflow,
    o.team,
    o.run_id,
    o.started_at,
    o.previous_signer,
    o.signer,
    o.previous_key_id,
    o.key_id,
    o.previous_run_id,
    (
        SELECT count(*)
        FROM signed AS s
        WHERE s.project = o.project
            AND s.workflow = o.workflow
            AND s.signer IS NOT DISTINCT FROM o.previous_signer
            AND s.started_at < o.started_at
    ) AS runs_by_previous_signer
FROM ordered AS o
WHERE o.previous_run_id IS NOT NULL
    AND (
        o.signer IS DISTINCT FROM o.previous_signer
        OR (
            NOT o.keyless
            AND NOT o.previous_keyless
            AND o.key_id IS DISTINCT FROM o.previous_key_id
        )
    )
