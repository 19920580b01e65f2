-- title: Vulnerabilities found are cleared by OpenVEX
-- description: Every vulnerability a scanner found in a successful run (a SARIF result at the
--   levels given whose rule id is a CVE or GHSA id) is cleared by an OpenVEX statement of the
--   same run: the run's last statement on it (by timestamp, then order) says fixed, or
--   not_affected with one of OpenVEX's justifications. A statement names the vulnerability by
--   its name or an alias, for any product. A SARIF log of the run that could not be read whole
--   violates it too. One row per run and vulnerability not cleared, and per unread log.
-- severity: high
-- gate: true
-- finding: run_id
-- reads: SARIF
-- param: levels = error : the SARIF levels of the findings that must be cleared, separated by commas (error, warning, note, none)
WITH settings AS (
    SELECT list_filter(
        list_transform(string_split($levels, ','), lambda l: lower(trim(l))), lambda l: l <> ''
    ) AS levels
),
checked AS (
    SELECT
        CASE
            WHEN len(levels) > 0 AND list_has_all(['error', 'warning', 'note', 'none'], levels)
                THEN levels
            ELSE error('parameter levels must name SARIF levels (error, warning, note, none) separated by commas, not ''' || $levels || '''')
        END AS levels
    FROM settings
),
findings AS (
    SELECT
        r.run_id,
        r.project,
        r.workflow,
        r.team,
        r.manifest_digest,
        r.envelope_digest,
        upper(s.vulnerability_id) AS vulnerability,
        count(*) AS results,
        string_agg(DISTINCT s.level, ', ' ORDER BY s.level) AS levels,
        string_agg(DISTINCT s.material_name, ', ' ORDER BY s.material_name) AS materials
    FROM sarif_results AS s
    JOIN runs AS r ON r.manifest_digest = s.manifest_digest AND r.envelope_digest = s.envelope_digest
    CROSS JOIN checked AS c
    WHERE s.problem IS NULL AND s.vulnerability_id IS NOT NULL AND list_contains(c.levels, s.level)
    GROUP BY ALL
),
said AS (
    SELECT
        v.manifest_digest,
        v.envelope_digest,
        upper(named.id) AS vulnerability,
        v.status,
        v.justification,
        v.issued_at,
        v.material_digest,
        v.position
    FROM vex_statements AS v
    CROSS JOIN unnest(
        list_prepend(v.vulnerability_id, coalesce(TRY_CAST(v.aliases AS VARCHAR[]), []))
    ) AS named(id)
    WHERE v.position IS NOT NULL AND named.id IS NOT NULL
),
last_word AS (
    SELECT
        manifest_digest,
        envelope_digest,
        vulnerability,
        arg_max(
            {'status': status, 'justification': justification},
            (coalesce(issued_at, TIMESTAMPTZ '0001-01-01 00:00:00+00'), material_digest, position)
        ) AS word
    FROM said
    GROUP BY ALL
)
SELECT
    f.run_id,
    f.project,
    f.workflow,
    f.team,
    f.vulnerability,
    f.results,
    w.word.status AS vex_status,
    f.vulnerability || ' (' || f.results || ' ' || f.levels || ' result(s) in ' || f.materials
        || ') is not cleared: '
        || CASE
            WHEN w.word IS NULL THEN 'no OpenVEX statement of the run names it'
            WHEN w.word.status IS NULL THEN 'the run''s last OpenVEX statement on it has no OpenVEX status'
            WHEN w.word.status = 'not_affected'
                THEN 'the run''s last OpenVEX statement on it says not_affected without a justification'
            ELSE 'the run''s last OpenVEX statement on it says ' || w.word.status
        END AS violation
FROM findings AS f
LEFT JOIN last_word AS w
    ON w.manifest_digest = f.manifest_digest AND w.envelope_digest = f.envelope_digest
    AND w.vulnerability = f.vulnerability
WHERE w.word IS NULL
    OR NOT (
        w.word.status = 'fixed'
        OR (w.word.status = 'not_affected' AND w.word.justification IS NOT NULL)
    )
    OR w.word.status IS NULL
UNION ALL
SELECT
    r.run_id,
    r.project,
    r.workflow,
    r.team,
    NULL AS vulnerability,
    NULL AS results,
    NULL AS vex_status,
    'SARIF material ' || coalesce(s.material_name, '(unnamed)') || ': ' || s.problem
        || '; the vulnerabilities it holds are not known' AS violation
FROM sarif_results AS s
JOIN runs AS r ON r.manifest_digest = s.manifest_digest AND r.envelope_digest = s.envelope_digest
WHERE s.problem IS NOT NULL
ORDER BY project, workflow, run_id, violation
