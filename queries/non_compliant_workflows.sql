-- title: Non-compliant workflows
-- description: The latest successful run (by started_at) of each project's workflow does not
--   meet the newest known revision of its contract: a required material is missing (optional
--   materials are not required), no material of an "at least one of" group was added ('missing
--   material group': missing_material lists the group's members joined by ' or '), a
--   required annotation is missing, or its runner type is not one that revision allows. The
--   newest revision is the highest contract_revision of that contract name seen in
--   contract_requirements (published contracts included) or runs; a revision that requires
--   nothing yields no rows. Its annotations and runner types are read from a verified run
--   statement made against it (the trusted attestations table), so they are only checked once
--   some run has used that revision. One row per problem ('missing material', 'missing
--   material group', 'missing annotation', 'runner not allowed'): this catches a workflow that
--   dropped its SBOM, or moved to a workstation, by falling back to an older contract
--   revision. With runs = all, every successful run is judged the same way, against the
--   newest revision known when it started (published by then, or used by a run started by
--   then), and each workflow's latest run against the newest known now, as above: the
--   history behind today's answer, which the audit notebook charts.
-- severity: high
-- finding: project, workflow
-- requires: contracts
-- param: runs = latest : latest (each workflow's latest successful run) or all (every successful run)
WITH ranked AS (
    SELECT
        r.*,
        row_number() OVER (
            PARTITION BY r.project, r.workflow
            ORDER BY r.started_at DESC NULLS LAST, r.finished_at DESC NULLS LAST,
                r.manifest_digest DESC
        ) AS recency
    FROM runs AS r
    WHERE coalesce(r.status, 'success') = 'success'
),
latest_runs AS (
    SELECT *
    FROM ranked
    WHERE contract_name IS NOT NULL
        AND CASE $runs
            WHEN 'latest' THEN recency = 1
            WHEN 'all' THEN true
            ELSE error('runs must be latest or all, not ' || $runs)
        END
),
-- Every revision, and from when the lake knows it: its publication, or the run that used it.
revisions AS (
    SELECT q.contract_name, q.contract_revision, coalesce(q.published_at, u.started_at) AS since
    FROM contract_requirements AS q
    LEFT JOIN runs AS u ON u.manifest_digest = q.manifest_digest
    UNION ALL
    SELECT contract_name, contract_revision, started_at FROM runs
),
newest AS (
    SELECT
        l.manifest_digest,
        l.envelope_digest,
        max(v.contract_revision) AS latest_contract_revision
    FROM latest_runs AS l
    JOIN revisions AS v ON v.contract_name = l.contract_name
    WHERE v.contract_revision IS NOT NULL
        AND (l.recency = 1 OR v.since IS NULL OR v.since <= l.started_at)
    GROUP BY l.manifest_digest, l.envelope_digest
),
judged AS (
    SELECT l.*, n.latest_contract_revision
    FROM latest_runs AS l
    JOIN newest AS n
        ON n.manifest_digest = l.manifest_digest
        AND n.envelope_digest IS NOT DISTINCT FROM l.envelope_digest
),
required AS (
    SELECT DISTINCT q.contract_name, q.contract_revision, q.material_name, q.material_type
    FROM contract_requirements AS q
    WHERE NOT q.optional AND q.material_group IS NULL
),
-- The members of each "at least one of" group, one row per member.
grouped AS (
    SELECT DISTINCT
        q.contract_name, q.contract_revision, q.material_group, q.material_name, q.material_type
    FROM contract_requirements AS q
    WHERE q.material_group IS NOT NULL
),
groups AS (
    SELECT
        contract_name,
        contract_revision,
        material_group,
        string_agg(material_name, ' or ' ORDER BY material_name) AS members,
        string_agg(material_type, ' or ' ORDER BY material_name) AS member_types
    FROM grouped
    GROUP BY contract_name, contract_revision, material_group
),
-- What a verified run statement made against a revision says that revision asks: read from
-- the statement with the lowest digest that states it, the first one tried alone.
rule_statements AS (
    SELECT r.contract_name, r.contract_revision, a.statement_digest, a.statement
    FROM runs AS r
    JOIN attestations AS a
        ON a.manifest_digest = r.manifest_digest
        AND a.envelope_digest = r.envelope_digest
        AND a.trusted
    WHERE r.contract_name IS NOT NULL AND r.contract_revision IS NOT NULL
),
first_rules AS (
    SELECT
        contract_name,
        contract_revision,
        TRY_CAST(
            json_extract(arg_min(statement, statement_digest), '$.predicate.contract.annotations')
            AS VARCHAR[]
        ) AS annotations,
        TRY_CAST(
            json_extract(arg_min(statement, statement_digest), '$.predicate.contract.runnerTypes')
            AS VARCHAR[]
        ) AS runner_types
    FROM rule_statements
    GROUP BY contract_name, contract_revision
),
-- Revisions whose first statement does not state both: every statement of theirs is read.
other_rules AS (
    SELECT
        s.contract_name,
        s.contract_revision,
        arg_min(
            TRY_CAST(json_extract(s.statement, '$.predicate.contract.annotations') AS VARCHAR[]),
            s.statement_digest
        ) AS annotations,
        arg_min(
            TRY_CAST(json_extract(s.statement, '$.predicate.contract.runnerTypes') AS VARCHAR[]),
            s.statement_digest
        ) AS runner_types
    FROM rule_statements AS s
    SEMI JOIN first_rules AS f
        ON f.contract_name = s.contract_name
        AND f.contract_revision = s.contract_revision
        AND (f.annotations IS NULL OR f.runner_types IS NULL)
    GROUP BY s.contract_name, s.contract_revision
),
rules AS (
    SELECT
        f.contract_name,
        f.contract_revision,
        coalesce(f.annotations, o.annotations) AS annotations,
        coalesce(f.runner_types, o.runner_types) AS runner_types
    FROM first_rules AS f
    LEFT JOIN other_rules AS o
        ON o.contract_name = f.contract_name AND o.contract_revision = f.contract_revision
),
required_annotations AS (
    SELECT contract_name, contract_revision, unnest(annotations) AS annotation
    FROM rules
),
problems AS (
    SELECT
        l.*,
        'missing material' AS problem,
        q.material_name AS missing_material,
        q.material_type AS missing_material_type,
        NULL::VARCHAR AS missing_annotation,
        NULL::VARCHAR AS allowed_runner_types
    FROM judged AS l
    JOIN required AS q
        ON q.contract_name = l.contract_name
        AND q.contract_revision = l.latest_contract_revision
    WHERE NOT EXISTS (
        SELECT 1
        FROM materials AS m
        WHERE m.manifest_digest = l.manifest_digest
            AND m.run_id IS NOT DISTINCT FROM l.run_id
            AND coalesce(m.envelope_digest, l.envelope_digest) IS NOT DISTINCT FROM l.envelope_digest
            AND m.name = q.material_name
    )
    UNION ALL
    SELECT
        l.*,
        'missing material group' AS problem,
        g.members AS missing_material,
        g.member_types AS missing_material_type,
        NULL AS missing_annotation,
        NULL AS allowed_runner_types
    FROM judged AS l
    JOIN groups AS g
        ON g.contract_name = l.contract_name
        AND g.contract_revision = l.latest_contract_revision
    WHERE NOT EXISTS (
        SELECT 1
        FROM materials AS m
        JOIN grouped AS q
            ON q.contract_name = g.contract_name
            AND q.contract_revision = g.contract_revision
            AND q.material_group = g.material_group
            AND q.material_name = m.name
        WHERE m.manifest_digest = l.manifest_digest
            AND m.run_id IS NOT DISTINCT FROM l.run_id
            AND coalesce(m.envelope_digest, l.envelope_digest) IS NOT DISTINCT FROM l.envelope_digest
    )
    UNION ALL
    SELECT
        l.*,
        'missing annotation' AS problem,
        NULL AS missing_material,
        NULL AS missing_material_type,
        a.annotation AS missing_annotation,
        NULL AS allowed_runner_types
    FROM judged AS l
    JOIN required_annotations AS a
        ON a.contract_name = l.contract_name
        AND a.contract_revision = l.latest_contract_revision
    WHERE NOT list_contains(json_keys(coalesce(l.annotations, '{}')), a.annotation)
    UNION ALL
    SELECT
        l.*,
        'runner not allowed' AS problem,
        NULL AS missing_material,
        NULL AS missing_material_type,
        NULL AS missing_annotation,
        array_to_string(u.runner_types, ', ') AS allowed_runner_types
    FROM judged AS l
    JOIN rules AS u
        ON u.contract_name = l.contract_name
        AND u.contract_revision = l.latest_contract_revision
    WHERE len(u.runner_types) > 0
        AND NOT list_contains(u.runner_types, coalesce(l.runner_type, 'GENERIC'))
)
SELECT
    project,
    workflow,
    team,
    run_id,
    started_at,
    contract_name,
    contract_revision AS run_contract_revision,
    latest_contract_revision,
    problem,
    missing_material,
    missing_material_type,
    missing_annotation,
    runner_type,
    allowed_runner_types,
    runner_url
FROM problems
ORDER BY project, workflow, problem, missing_material, missing_annotation, run_id
