-- title: Signer changes
-- description: A verified run of a project's workflow signed by another signer than the
--   workflow's previous verified run: another policy key or keyless identity (signer), or, for
--   key signing, another key under the same policy entry (key_id; keyless certificates are
--   short-lived, so their key ids are not compared). A key rotation to confirm, or a pipeline
--   signing with someone else's credentials. One row per change: the run that changed it, the
--   previous and the new signer, and how many earlier runs the previous signer had signed.
--   Runs of every status count.
-- severity: medium
-- finding: project, workflow
SELECT
    project,
    workflow,
    team,
    run_id,
    started_at,
    previous_signer,
    signer,
    previous_key_id,
    key_id,
    previous_run_id,
    runs_by_previous_signer
FROM signer_moves
ORDER BY project, workflow, started_at, run_id
