-- title: Non-compliant workflows
-- description: The latest successful run (by started_at) of each project's workflow does not
--   meet the newest known revision of its contract: a required material is missing (optional
--   materials are not required), a required annotation is missing, or its runner type is not
--   one that revision allows. The newest revision is the highest contract_revision of that
--   contract name seen in contract_requirements (published contracts included) or runs; a
--   revision that requires nothing yields no rows. Its annotations and runner types are read
--   from a verified run statement made against it (the trusted attestations table), so they
--   are only checked once some run has used that revision. One row per problem ('missing
--   material', 'missing annotation', 'runner not allowed'): this catches a workflow that
--   dropped its SBOM, or moved to a workstation, by falling back to an older contract
--   revision.
-- severity: high
-- finding: project, workflow
-- requires: contracts
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
    SELECT * FROM ranked WHERE recency = 1 AND contract_name IS NOT NULL
),
revisions AS (
    SELECT contract_name, contract_revision FROM contract_requirements
    UNION ALL
    SELECT contract_name, contract_revision FROM runs
),
newest AS (
    SELECT contract_name, max(contract_revision) AS latest_contract_revision
    FROM revisions
    WHERE contract_name IS NOT NULL AND contract_revision IS NOT NULL
    GROUP BY contract_name
),
required AS (
    SELECT DISTINCT
        n.contract_name,
        n.latest_contract_revision,
        q.material_name,
        q.material_type
    FROM newest AS n
    JOIN contract_requirements AS q
        ON q.contract_name = n.contract_name
        AND q.contract_revision = n.latest_contract_revision
    WHERE NOT q.optional
),
-- What a verified run statement made against the newest revision says that revision asks.
rules AS (
    SELECT
        n.contract_name,
        n.latest_contract_revision,
        arg_min(
            TRY_CAST(json_extract(a.statement, '$.predicate.contract.annotations') AS VARCHAR[]),
            a.statement_digest
        ) AS annotations,
        arg_min(
            TRY_CAST(json_extract(a.statement, '$.predicate.contract.runnerTypes') AS VARCHAR[]),
            a.statement_digest
        ) AS runner_types
    FROM newest AS n
    JOIN runs AS r
        ON r.contract_name = n.contract_name
        AND r.contract_revision = n.latest_contract_revision
    JOIN attestations AS a
        ON a.manifest_digest = r.manifest_digest
        AND a.envelope_digest = r.envelope_digest
        AND a.trusted
    GROUP BY n.contract_name, n.latest_contract_revision
),
required_annotations AS (
    SELECT contract_name, latest_contract_revision, unnest(annotations) AS annotation
    FROM rules
),
problems AS (
    SELECT
        l.*,
        q.latest_contract_revision,
        'missing material' AS problem,
        q.material_name AS missing_material,
        q.material_type AS missing_material_type,
        NULL::VARCHAR AS missing_annotation,
        NULL::VARCHAR AS allowed_runner_types
    FROM latest_runs AS l
    JOIN required AS q ON q.contract_name = l.contract_name
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
        a.latest_contract_revision,
        'missing annotation' AS problem,
        NULL AS missing_material,
        NULL AS missing_material_type,
        a.annotation AS missing_annotation,
        NULL AS allowed_runner_types
    FROM latest_runs AS l
    JOIN required_annotations AS a ON a.contract_name = l.contract_name
    WHERE NOT list_contains(json_keys(coalesce(l.annotations, '{}')), a.annotation)
    UNION ALL
    SELECT
        l.*,
        u.latest_contract_revision,
        'runner not allowed' AS problem,
        NULL AS missing_material,
        NULL AS missing_material_type,
        NULL AS missing_annotation,
        array_to_string(u.runner_types, ', ') AS allowed_runner_types
    FROM latest_runs AS l
    JOIN rules AS u ON u.contract_name = l.contract_name
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
