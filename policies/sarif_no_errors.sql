-- title: No SARIF result at a blocking level
-- description: The SARIF logs a successful run pushed (code scanning, vulnerability scanning)
--   hold at most max_errors results at the levels given, all logs of the run together
--   (default: no error-level result). A SARIF log of the run that could not be read whole
--   violates it too: what it holds is not known. One row per run, and per unread log.
-- severity: high
-- gate: true
-- finding: run_id
-- reads: SARIF
-- param: max_errors = 0 : how many results at those levels a run may have (a whole number, 0 or more)
-- param: levels = error : the SARIF levels that count, separated by commas (error, warning, note, none)
WITH settings AS (
    SELECT
        CASE
            WHEN TRY_CAST(trim($max_errors) AS BIGINT) >= 0 THEN TRY_CAST(trim($max_errors) AS BIGINT)
            ELSE error('parameter max_errors must be a whole number, 0 or more, not ''' || $max_errors || '''')
        END AS max_errors,
        list_filter(
            list_transform(string_split($levels, ','), lambda l: lower(trim(l))), lambda l: l <> ''
        ) AS levels
),
checked AS (
    SELECT
        max_errors,
        CASE
            WHEN len(levels) > 0 AND list_has_all(['error', 'warning', 'note', 'none'], levels)
                THEN levels
            ELSE error('parameter levels must name SARIF levels (error, warning, note, none) separated by commas, not ''' || $levels || '''')
        END AS levels
    FROM settings
),
runs_with_results AS (
    SELECT
        r.run_id,
        r.project,
        r.workflow,
        r.team,
        count(*) AS results,
        arg_min(
            coalesce(s.rule_id, '(no rule id)') || coalesce(' at ' || s.uri || coalesce(':' || s.line, ''), '')
                || coalesce(': ' || s.message, ''),
            s.material_name || '/' || lpad(CAST(s.position AS VARCHAR), 20, '0')
        ) AS example,
        any_value(c.max_errors) AS max_errors,
        any_value(array_to_string(c.levels, ' or ')) AS levels
    FROM sarif_results AS s
    JOIN runs AS r ON r.manifest_digest = s.manifest_digest AND r.envelope_digest = s.envelope_digest
    CROSS JOIN checked AS c
    WHERE s.problem IS NULL AND list_contains(c.levels, s.level)
    GROUP BY r.run_id, r.project, r.workflow, r.team
)
SELECT
    run_id,
    project,
    workflow,
    team,
    results,
    CAST(NULL AS VARCHAR) AS material,
    results || ' SARIF result(s) at level ' || levels || ' (at most ' || max_errors
        || ' allowed), e.g. ' || example AS violation
FROM runs_with_results
WHERE results > max_errors
UNION ALL
SELECT
    r.run_id,
    r.project,
    r.workflow,
    r.team,
    NULL AS results,
    s.material_name AS material,
    'SARIF material ' || coalesce(s.material_name, '(unnamed)') || ': ' || s.problem AS violation
FROM sarif_results AS s
JOIN runs AS r ON r.manifest_digest = s.manifest_digest AND r.envelope_digest = s.envelope_digest
WHERE s.problem IS NOT NULL
ORDER BY project, workflow, run_id, violation
