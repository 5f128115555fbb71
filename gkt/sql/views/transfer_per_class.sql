/*---
doc: Per (run, class) positive flips of the teacher over the initial student and how many the transferred student
  now gets right (transfer/*/*/per_class.parquet, final epoch), with the class ranking of the top-X% sets. A class
  is in a run's top-X% set iff 100 * flips_before < X * flips_total (the smallest prefix holding X %).
columns:
  run: run directory
  method: transfer method (the loss)
  mode: multi-teacher mode; NULL for single-teacher runs
  teacher: teacher(s)
  student: student
  class: class index
  class_name: class name (NULL without complementary results)
  pos_flips: positive flips in the class
  transferred: of those, right after transfer
  rate: transferred / pos_flips (NULL for 0 flips)
  rank: 1 = class with most positive flips (ties by class index)
  flips_before: positive flips of the run in classes ranked before this one
  flips_total: positive flips of the run over all classes
  share_before: flips_before / flips_total
---*/
-- transfer_per_class: every transfer run's per_class.parquet, its classes ranked by positive flips
-- (ties by class index), with the flips of the classes ranked before (the top-X % sets).
-- A run's method, mode, teacher and student are those of its metrics (transfer_metrics).
-- Placeholder (gkt/db/build.py): files = transfer/*/*/per_class.parquet (with their file names).
WITH files AS (
    SELECT regexp_extract(filename, '([^/]+/[^/]+)/per_class\.parquet$', 1) AS run, "class", pos_flips, transferred
    FROM {{files}}),
raw AS (
    SELECT run, r.method, r.mode, r.teacher, r.student, "class", pos_flips, transferred
    FROM files JOIN (SELECT DISTINCT run, method, mode, teacher, student FROM transfer_metrics) r USING (run))
SELECT run, method, mode, teacher, student, raw."class", c.class_name, pos_flips, transferred,
       transferred / nullif(pos_flips, 0) AS rate,
       row_number() OVER w AS rank,
       coalesce(sum(pos_flips) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS flips_before,
       sum(pos_flips) OVER (PARTITION BY run)::BIGINT AS flips_total,
       coalesce(sum(pos_flips) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
           / nullif(sum(pos_flips) OVER (PARTITION BY run), 0) AS share_before
FROM raw LEFT JOIN classes c ON c."class" = raw."class"
WINDOW w AS (PARTITION BY run ORDER BY pos_flips DESC, raw."class")
