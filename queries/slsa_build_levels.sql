-- title: SLSA build level per workflow
-- description: An approximation of each workflow's SLSA v1.0 build level from what the lake
--   records, judged on its latest successful verified run, with the reason. L0: no verified
--   successful run (an inventory workflow that never attested, or whose attestations failed
--   verification, or only failed). L1: signed provenance exists and verifies (the run
--   statement records builder, source and outputs), but the build ran on a GENERIC runner (a
--   workstation or an unknown system) or a self-hosted GitHub runner (RUNNER_ENVIRONMENT),
--   which no build platform vouches for. L2: signed provenance verified from a CI runner that
--   is not known to be self-hosted (GitLab, Jenkins and the others do not record it; they
--   count as hosted). L3: a verified SLSA verification summary (VSA) that PASSED with
--   SLSA_BUILD_LEVEL_3 names an artifact of that run; the lake cannot judge build isolation
--   otherwise. Workflows come from runs and the latest inventory; only those below
--   target_level are listed.
-- severity: low
-- finding: project, workflow
-- requires: inventory
-- param: target_level = 2 : list workflows below this level (0 to 4; 4 lists every workflow)
WITH built AS (
    SELECT
        project,
        workflow,
        team,
        run_id,
        started_at,
        coalesce(runner_type, 'GENERIC') AS runner_type,
        runner_environment AS hosting,
        slsa_provenance,
        vsa_level_3
    FROM latest_runs
),
rated AS (
    SELECT
        project,
        workflow,
        team,
        CASE
            WHEN vsa_level_3 THEN 3
            WHEN runner_type = 'GENERIC' OR hosting = 'self-hosted' THEN 1
            ELSE 2
        END AS slsa_build_level,
        CASE
            WHEN vsa_level_3
                THEN 'a verified SLSA verification summary states SLSA_BUILD_LEVEL_3'
            WHEN runner_type = 'GENERIC'
                THEN 'signed provenance verified, but built on a GENERIC runner (a workstation '
                    || 'or an unknown system): no build platform vouches for it'
            WHEN hosting = 'self-hosted'
                THEN 'signed provenance verified, but built on a self-hosted ' || runner_type
                    || ' runner'
            ELSE 'signed provenance verified, built on ' || runner_type
                || coalesce(' (' || hosting || ')', '')
        END
        || CASE WHEN slsa_provenance THEN '; SLSA provenance signed beside it' ELSE '' END
            AS reason,
        run_id,
        started_at,
        runner_type
    FROM built
),
known AS (
    SELECT project, workflow, any_value(team) AS team FROM current_inventory GROUP BY ALL
    UNION
    SELECT project, workflow, team FROM workflow_activity WHERE runs > 0
),
unrated AS (
    SELECT
        k.project,
        k.workflow,
        any_value(k.team) AS team,
        0 AS slsa_build_level,
        CASE
            WHEN EXISTS (
                SELECT 1
                FROM workflow_activity AS a
                WHERE a.project = k.project AND a.workflow = k.workflow AND a.runs > 0
            ) THEN 'no successful run: every verified run failed or was cancelled'
            WHEN EXISTS (
                SELECT 1
                FROM workflow_activity AS a
                WHERE a.project = k.project
                    AND a.workflow = k.workflow
                    AND a.unverified_envelopes > 0
            ) THEN 'no verified attestation: the ones claiming it failed verification'
            ELSE 'no attestation at all'
        END AS reason,
        NULL AS run_id,
        NULL::TIMESTAMPTZ AS started_at,
        NULL AS runner_type
    FROM known AS k
    WHERE NOT EXISTS (SELECT 1 FROM rated AS d WHERE d.project = k.project AND d.workflow = k.workflow)
    GROUP BY k.project, k.workflow
)
SELECT *
FROM (SELECT * FROM rated UNION ALL SELECT * FROM unrated)
WHERE slsa_build_level < CAST($target_level AS INTEGER)
ORDER BY slsa_build_level, project, workflow
