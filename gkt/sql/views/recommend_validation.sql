/*---
doc: 'Leave-one-student-out validation of the teacher ranking against the measured KL+DP runs (docs/method.md#validating-the-ranking;
  recommend/validation.parquet): per student with 2+ measured teachers and a fitted ranking, and over all of them
  (student NULL), for the model, the probes and three baselines, on the teachers with a measured run (the probe
  ranker only for students whose measured teachers were all probed).'
columns:
  student: 'student (NULL: mean over the validated students)'
  ranker: model (predicted delta_transf) | random (expected values) | most_accurate (highest acc_t) | highest_rho_pos
    | probe (highest probe_delta_transf)
  students: students in the row
  teachers: measured teachers in the row
  spearman: 'Spearman correlation of the ranker''s score with the measured delta_transf (NULL when undefined; overall:
    mean over students)'
  top1_hit: '1 if the top-ranked teacher has the best measured delta_transf (random: the chance of that; overall:
    the share of students)'
  regret: 'best measured delta_transf - that of the top-ranked teacher (random: - the mean; overall: mean)'
  picked_teacher: the ranker's top teacher (NULL for random and overall)
  picked_delta_transf: 'its measured delta_transf (random: the mean)'
  best_teacher: best measured teacher
  best_delta_transf: its delta_transf
---*/
-- recommend_validation: recommend/validation.parquet as written (docs/method.md#validating-the-ranking).
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
