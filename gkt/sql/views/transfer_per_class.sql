-- transfer_per_class: every transfer run's per_class.parquet, its classes ranked by positive flips
-- (ties by class index), with the flips of the classes ranked before (the top-X % sets).
-- Placeholder (gkt/db/build.py): files = transfer/*/*/per_class.parquet (with their file names).
WITH files AS (
    SELECT regexp_extract(filename, '([^/]+)/([^/]+)/per_class\.parquet$', ['method', 'pair']) AS p,
           "class", pos_flips, transferred
    FROM {{files}}),
raw AS (
    SELECT p.method || '/' || p.pair AS run, p.method AS method,
           split_part(p.pair, '__', 1) AS teacher, split_part(p.pair, '__', 2) AS student,
           "class", pos_flips, transferred
    FROM files)
SELECT run, method, teacher, student, raw."class", c.class_name, pos_flips, transferred,
       transferred / nullif(pos_flips, 0) AS rate,
       row_number() OVER w AS rank,
       coalesce(sum(pos_flips) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS flips_before,
       sum(pos_flips) OVER (PARTITION BY run)::BIGINT AS flips_total,
       coalesce(sum(pos_flips) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
           / nullif(sum(pos_flips) OVER (PARTITION BY run), 0) AS share_before
FROM raw LEFT JOIN classes c ON c."class" = raw."class"
WINDOW w AS (PARTITION BY run ORDER BY pos_flips DESC, raw."class")
