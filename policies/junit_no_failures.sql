-- title: No failed JUnit test
-- description: No test case of the JUnit XML reports a successful run pushed failed or ended in
--   an error (skipped cases pass). A report of the run that could not be read whole violates it
--   too: what it holds is not known. One row per failed case, and per unread report.
-- severity: high
-- gate: true
-- finding: run_id
-- reads: JUNIT_XML
SELECT
    r.run_id,
    r.project,
    r.workflow,
    r.team,
    j.material_name AS material,
    j.suite,
    j.classname,
    j.case_name,
    j.status,
    CASE
        WHEN j.problem IS NOT NULL
            THEN 'JUnit material ' || coalesce(j.material_name, '(unnamed)') || ': ' || j.problem
        ELSE 'test ' || coalesce(nullif(j.classname, '') || '.', '') || coalesce(j.case_name, '(unnamed)')
            || CASE WHEN j.status = 'error' THEN ' ended in an error' ELSE ' failed' END
            || coalesce(' (suite ' || j.suite || ')', '') || coalesce(': ' || j.message, '')
    END AS violation
FROM junit_cases AS j
JOIN runs AS r ON r.manifest_digest = j.manifest_digest AND r.envelope_digest = j.envelope_digest
WHERE j.problem IS NOT NULL OR j.status IN ('failed', 'error')
ORDER BY r.project, r.workflow, r.run_id, j.material_name, j.position NULLS LAST
