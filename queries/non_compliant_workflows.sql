-- title: Non-compliant workflows
-- description: The latest run (by started_at) of each project's workflow lacks a material
--   that the newest known revision of its contract requires (optional materials are not
--   required). The newest revision is the highest contract_revision of that contract name
--   seen in contract_requirements or runs; a revision that requires nothing yields no rows.
--   One row per missing material: this catches a workflow that dropped its SBOM by
--   falling back to an older contract revision.
-- severity: high
WITH ranked AS (
    SELECT
        r.*,
        row_number() OVER (
            PARTITION BY r.project, r.workflow
            ORDER BY r.started_at DESC NULLS LAST, r.finished_at DESC NULLS LAST,
                r.manifest_digest DESC
        ) AS recency
    FROM runs AS r
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
)
SELECT
    l.project,
    l.workflow,
    l.team,
    l.run_id,
    l.started_at,
    l.contract_name,
    l.contract_revision AS run_contract_revision,
    q.latest_contract_revision,
    q.material_name AS missing_material,
    q.material_type AS missing_material_type,
    l.runner_url
FROM latest_runs AS l
JOIN required AS q ON q.contract_name = l.contract_name
WHERE NOT EXISTS (
    SELECT 1
    FROM materials AS m
    WHERE m.manifest_digest = l.manifest_digest AND m.name = q.material_name
)
ORDER BY l.project, l.workflow, missing_material, missing_material_type, l.run_id
