-- transfer_metrics: every transfer run's metrics.parquet, one row per (run, epoch), with the run's
-- directory <method folder>/<teacher>__<student> (gkt/transfer/vocabulary.py: multi-teacher runs
-- live in multi_<mode>-<objective>/) and its number of teachers.
-- A multi-teacher folder of the layout before objectives were part of folder names (multi_<mode>/...:
-- its folder is its method) is left out where a current folder holds a run of the same method,
-- objective, teachers and student, so a results folder holding both counts each run once.
-- Placeholder (gkt/db/build.py): files = transfer/*/*/metrics.parquet (with their file names).
WITH runs AS (
    SELECT m.* EXCLUDE (filename),
           regexp_extract(filename, '([^/]+/[^/]+)/metrics\.parquet$', 1) AS run,
           starts_with(m.method, 'multi_')
               AND regexp_extract(filename, '([^/]+)/[^/]+/metrics\.parquet$', 1) = m.method AS old_layout
    FROM {{files}} m)
SELECT * EXCLUDE (old_layout),
       len(string_split(teacher, '+')) AS n_teachers,
       starts_with(method, 'multi_') AS is_multi
FROM runs
QUALIFY NOT old_layout OR bool_and(old_layout) OVER (PARTITION BY method, objective, teacher, student)
