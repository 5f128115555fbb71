-- transfer_metrics: every transfer run's metrics.parquet, one row per (run, epoch), with the run's
-- directory <method>/<teacher>__<student> and its number of teachers.
-- Placeholder (gkt/db/build.py): files = transfer/*/*/metrics.parquet (with their file names).
SELECT m.* EXCLUDE (filename),
       regexp_extract(filename, '([^/]+/[^/]+)/metrics\.parquet$', 1) AS run,
       len(string_split(m.teacher, '+')) AS n_teachers,
       starts_with(m.method, 'multi_') AS is_multi
FROM {{files}} m
