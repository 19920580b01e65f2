-- title: Component search: where is a package used
-- description: Every artifact whose trusted SBOM lists a package, the question asked the day
--   a CVE lands. package matches a component name (exactly, any case), a purl with or without
--   its version, or a purl pattern with % wildcards (pkg:maven/org.apache.logging.log4j/%).
--   version_min and version_max (inclusive; empty: no bound) restrict its version. Versions
--   compare as dotted numbers: 2.9 < 2.17.1; a leading 'v' and anything after the numbers
--   (-rc1, +build) are ignored; missing parts count as 0 (2.17 = 2.17.0); only the first 8
--   parts count; a version that does not start with a number never falls in a range. One row
--   per component and artifact: the artifact (the statement's subject) and its digest, the
--   run that built it, its workflow and team, and who signed it.
-- severity: info
-- finding: project, workflow, run_id, artifact, artifact_digest
-- param: package : a component name (log4j-core), a purl (pkg:maven/org.apache.logging.log4j/log4j-core) or a purl pattern with %
-- param: version_min = : the lowest version to report (inclusive); empty: no lower bound
-- param: version_max = : the highest version to report (inclusive); empty: no upper bound
WITH bounds AS (
    SELECT
        CASE
            WHEN $version_min = '' THEN NULL
            WHEN NOT regexp_matches($version_min, '^v?[0-9]+(\.[0-9]+)*$')
                THEN error('version_min ' || $version_min || ' is not a version like 2.17.1')
            ELSE list_resize(
                list_transform(
                    string_split(ltrim($version_min, 'v'), '.'), lambda p: TRY_CAST(p AS HUGEINT)
                ),
                8,
                0
            )
        END AS low,
        CASE
            WHEN $version_max = '' THEN NULL
            WHEN NOT regexp_matches($version_max, '^v?[0-9]+(\.[0-9]+)*$')
                THEN error('version_max ' || $version_max || ' is not a version like 2.17.1')
            ELSE list_resize(
                list_transform(
                    string_split(ltrim($version_max, 'v'), '.'), lambda p: TRY_CAST(p AS HUGEINT)
                ),
                8,
                0
            )
        END AS high
),
matched AS (
    SELECT
        c.*,
        regexp_extract(c.version, '^v?([0-9]+(\.[0-9]+)*)', 1) AS numeric_version
    FROM sbom_components AS c
    WHERE c.trusted
        AND (
            lower(c.name) = lower($package)
            OR c.purl = $package
            OR starts_with(c.purl, $package || '@')
            OR (contains($package, '%') AND c.purl LIKE $package)
        )
),
versioned AS (
    SELECT
        m.*,
        CASE
            WHEN m.numeric_version = '' THEN NULL
            ELSE list_resize(
                list_transform(
                    string_split(m.numeric_version, '.'), lambda p: TRY_CAST(p AS HUGEINT)
                ),
                8,
                0
            )
        END AS version_parts
    FROM matched AS m
)
SELECT
    v.name AS component,
    v.version,
    v.purl,
    r.project,
    r.workflow,
    r.team,
    r.run_id,
    r.started_at,
    s.name AS artifact,
    s.digest AS artifact_digest,
    coalesce(r.signer, a.signer) AS signer,
    v.source
FROM versioned AS v
CROSS JOIN bounds AS b
LEFT JOIN runs AS r ON r.manifest_digest = v.manifest_digest
LEFT JOIN subjects AS s
    ON s.manifest_digest = v.manifest_digest AND s.envelope_digest = v.envelope_digest
LEFT JOIN attestations AS a
    ON a.manifest_digest = v.manifest_digest AND a.envelope_digest = v.envelope_digest
WHERE (b.low IS NULL OR v.version_parts >= b.low)
    AND (b.high IS NULL OR v.version_parts <= b.high)
ORDER BY r.project, r.workflow, r.started_at, v.name, v.version, s.digest, v.source
