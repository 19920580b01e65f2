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
WITH every_run AS (
    SELECT CASE $runs
        WHEN 'latest' THEN false
        WHEN 'all' THEN true
        ELSE error('runs must be latest or all, not ' || $runs)
    END AS wanted
),
-- Each workflow's latest successful run, judged against the newest revision known now.
latest AS (
    SELECT
        l.* EXCLUDE (runner_environment, slsa_provenance, vsa_level_3),
        (
            SELECT max(v.contract_revision)
            FROM contract_revisions AS v
            WHERE v.contract_name = l.contract_name
        ) AS latest_contract_revision
    FROM latest_runs AS l
    WHERE l.contract_name IS NOT NULL
),
-- With runs = all, every earlier successful run, against the newest revision known when it
-- started: published by then, or used by a run started by then.
earlier AS (
    SELECT
        r.*,
        coalesce(
            (
                SELECT list(m.name ORDER BY m.name)
                FROM materials AS m
                WHERE m.manifest_digest = r.manifest_digest
                    AND m.run_id IS NOT DISTINCT FROM r.run_id
                    AND coalesce(m.envelope_digest, r.envelope_digest)
                        IS NOT DISTINCT FROM r.envelope_digest
            ),
            []
        ) AS material_names,
        (
            SELECT max(v.contract_revision)
            FROM contract_revisions AS v
            WHERE v.contract_name = r.contract_name
                AND (v.known_undated OR v.known_since <= r.started_at)
        ) AS latest_contract_revision
    FROM runs AS r
    WHERE (SELECT wanted FROM every_run)
        AND coalesce(r.status, 'success') = 'success'
        AND r.contract_name IS NOT NULL
        AND NOT EXISTS (
            SELECT 1
            FROM latest_runs AS l
            WHERE l.manifest_digest = r.manifest_digest
                AND l.envelope_digest IS NOT DISTINCT FROM r.envelope_digest
                AND l.run_id IS NOT DISTINCT FROM r.run_id
        )
),
judged AS (
    SELECT * FROM latest
    UNION ALL BY NAME
    SELECT * FROM earlier
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
required_annotations AS (
    SELECT contract_name, contract_revision, unnest(annotations) AS annotation
    FROM contract_revisions
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
    WHERE NOT coalesce(list_contains(l.material_names, q.material_name), false)
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
        FROM grouped AS q
        WHERE q.contract_name = g.contract_name
            AND q.contract_revision = g.contract_revision
            AND q.material_group = g.material_group
            AND list_contains(l.material_names, q.material_name)
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
    JOIN contract_revisions AS u
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
