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
SELECT
    project,
    workflow,
    team,
    run_id,
    started_at,
    contract_name,
    run_contract_revision,
    latest_contract_revision,
    latest_revision_since,
    runs_on_older_revisions
FROM contract_lags
ORDER BY project, workflow
