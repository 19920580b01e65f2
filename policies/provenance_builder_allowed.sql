-- title: Provenance from an allowed builder
-- description: The SLSA provenance of every run names a builder whose id starts with one of the
--   allowed prefixes. A run's provenance from any other builder violates it.
-- severity: medium
-- gate: false
-- finding: run_id
-- reads: SLSA_PROVENANCE
-- param: builders = https://github.com/,https://gitlab.cyberdyne.example/ : the allowed builder id prefixes, separated by commas
WITH allowed AS (
    SELECT trim(unnest(string_split($builders, ','))) AS prefix
)
SELECT DISTINCT
    r.run_id,
    r.project,
    r.workflow,
    r.team,
    p.builder_id,
    'provenance from builder ' || coalesce(p.builder_id, '(none)') || ', not an allowed one'
        AS violation
FROM provenance AS p
JOIN runs AS r ON r.run_id = p.run_id
WHERE NOT EXISTS (
    SELECT 1 FROM allowed AS a
    WHERE a.prefix <> '' AND starts_with(coalesce(p.builder_id, ''), a.prefix)
)
ORDER BY r.project, r.workflow, r.run_id
