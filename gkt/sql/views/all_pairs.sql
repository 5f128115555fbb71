-- all_pairs: every ordered pair of the zoo (recommend/all_pairs.parquet, docs/method.md#all-pairs), with
-- whether the sampled study of the pairs view (the paper's Fig. 1 population) holds it.
-- Placeholder (gkt/db/build.py): files = that file.
SELECT a.*, EXISTS (SELECT 1 FROM pairs p WHERE p.teacher = a.teacher AND p.student = a.student) AS in_study
FROM {{files}} a
