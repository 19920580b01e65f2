-- title: One artifact digest built by several workflows
-- description: An artifact digest that the verified run statements of two or more different
--   project/workflow pairs name as their output (subject). Two builds do not produce the same
--   digest unless one re-tagged and re-attested the other's artifact (or the build is
--   reproducible across projects): either way who built that artifact is ambiguous. One row
--   per digest and workflow claiming it: the artifact names, how many of its successful runs
--   did, the first of them and when. Subjects that stand for a run itself
--   (attestlake.run/...) are left out, and a workflow attesting the same digest twice (a
--   re-run) is not reported.
-- severity: high
-- finding: digest
SELECT digest, project, workflow, team, artifacts, runs, first_run_id, started_at
FROM shared_digests
ORDER BY digest, started_at, project, workflow
