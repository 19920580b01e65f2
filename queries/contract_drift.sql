-- title: Contract drift: workflows on an older contract revision
-- description: The latest successful run of each project's workflow was checked against an
--   older revision of its contract than one already in force when it started. A revision is
--   in force from its publication (contract_requirements.published_at, for contracts the
--   crawler found published in a store) or, failing that, from the first verified run that
--   used it. The newer revision may require more (non_compliant_workflows then reports what)
--   or nothing more; either way the workflow pins, or caches, an old contract. One row per
--   workflow: its run, its revision, the newest revision in force and since when, and how
--   many of its runs used an older revision than the one in force.
-- severity: medium
-- finding: project, workflow
-- requires: contracts
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
ORDER BY l.project, l.workflow
