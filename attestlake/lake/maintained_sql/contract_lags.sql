-- Each project's workflow whose latest successful run (by started_at, then finished_at, then
-- manifest digest; a NULL status counts as success) was checked against an older revision of
-- its contract than the newest one in force when it started. A revision is in force from its
-- publication (contract_requirements.published_at) or, failing that, from the first
-- successful run that used it. With that newest revision, since when it is in force, and how
-- many of the workflow's successful runs used an older revision than the one in force then.
WITH successful AS (
    SELECT *
    FROM runs
    WHERE coalesce(status, 'success') = 'success'
        AND contract_name IS NOT NULL
        AND contract_revision IS NOT NULL
),
in_force AS (
    SELECT contract_name, contract_revision, min(since) AS since
    FROM (
        SELECT contract_name, contract_revision, published_at AS since
        FROM contract_requirements
        WHERE published_at IS NOT NULL AND contract_revision IS NOT NULL
        UNION ALL
        SELECT contract_name, contract_revision, min(started_at) AS since
        FROM successful
        GROUP BY contract_name, contract_revision
    )
    GROUP BY contract_name, contract_revision
),
judged AS (
    SELECT
        s.*,
        (
            SELECT max(f.contract_revision)
            FROM in_force AS f
            WHERE f.contract_name = s.contract_name AND f.since <= s.started_at
        ) AS revision_in_force,
        row_number() OVER (
            PARTITION BY s.project, s.workflow
            ORDER BY s.started_at DESC NULLS LAST, s.finished_at DESC NULLS LAST,
                s.manifest_digest DESC
        ) AS recency
    FROM successful AS s
)
SELECT
    l.project,
    l.workflow,
    l.team,
    l.run_id,
    l.started_at,
    l.contract_name,
    l.contract_revision AS run_contract_revision,
    l.revision_in_force AS latest_contract_revision,
    f.since AS latest_revision_since,
    (
        SELECT count(*)
        FROM judged AS j
        WHERE j.project = l.project
            AND j.workflow = l.workflow
            AND j.contract_revision < j.revision_in_force
    ) AS runs_on_older_revisions
FROM judged AS l
JOIN in_force AS f
    ON f.contract_name = l.contract_name AND f.contract_revision = l.revision_in_force
WHERE l.recency = 1 AND l.contract_revision < l.revision_in_force
