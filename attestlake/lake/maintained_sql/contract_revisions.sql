-- Every revision of every contract the lake knows, one row each: from when it knows it
-- (known_since: the earliest publication, or run that used it, of its digests;
-- known_undated: one of them has no date), and the required annotations and allowed runner
-- types a verified run statement made against it states (from the statement with the lowest
-- digest that states each; NULL when no verified run used the revision).
WITH revisions AS (
    SELECT q.contract_name, q.contract_revision, coalesce(q.published_at, u.started_at) AS since
    FROM contract_requirements AS q
    LEFT JOIN runs AS u ON u.manifest_digest = q.manifest_digest
    UNION ALL
    SELECT contract_name, contract_revision, started_at FROM runs
),
-- Each run's trusted statement, by its digest: the join of every run to its statement
-- carries digests alone (a million rows of them at a million runs); the statements' JSON is
-- read in a join on the one digest, the same text for every copy of a statement.
matched AS (
    SELECT r.contract_name, r.contract_revision, a.statement_digest
    FROM runs AS r
    JOIN attestations AS a
        ON a.manifest_digest = r.manifest_digest
        AND a.envelope_digest = r.envelope_digest
    WHERE a.trusted AND r.contract_name IS NOT NULL AND r.contract_revision IS NOT NULL
),
stated AS (
    SELECT
        statement_digest,
        TRY_CAST(json_extract(statement, '$.predicate.contract.annotations') AS VARCHAR[])
            AS annotations,
        TRY_CAST(json_extract(statement, '$.predicate.contract.runnerTypes') AS VARCHAR[])
            AS runner_types
    FROM attestations
    WHERE trusted
),
rules AS (
    SELECT
        m.contract_name,
        m.contract_revision,
        arg_min(a.annotations, a.statement_digest) AS annotations,
        arg_min(a.runner_types, a.statement_digest) AS runner_types
    FROM matched AS m
    JOIN stated AS a ON a.statement_digest = m.statement_digest
    GROUP BY m.contract_name, m.contract_revision
)
SELECT
    v.contract_name,
    v.contract_revision,
    min(v.since) AS known_since,
    bool_or(v.since IS NULL) AS known_undated,
    any_value(u.annotations) AS annotations,
    any_value(u.runner_types) AS runner_types
FROM revisions AS v
LEFT JOIN rules AS u
    ON u.contract_name = v.contract_name AND u.contract_revision = v.contract_revision
WHERE v.contract_name IS NOT NULL AND v.contract_revision IS NOT NULL
GROUP BY v.contract_name, v.contract_revision
