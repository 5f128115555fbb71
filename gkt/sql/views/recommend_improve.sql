/*---
doc: Sequential KL+DP transfer from a student's top-K teachers by a ranker against single KL+DP transfer from the
  top one (docs/method.md#improving-a-student; recommend/improve/<student>__top<K>[__<ranker>]/improve.parquet).
columns:
  student: student model
  k: teachers used
  ranker: 'whose top K: model (the fitted score) | probe | most_accurate | highest_rho_pos'
  teachers: the top-K teachers in ranked order, joined by '+'
  order_used: the sequential order (val accuracy, weakest first), joined by '+'
  sequential_delta_transf: delta_transf of the sequential run
  top_teacher: the ranker's top teacher
  top_single_delta_transf: delta_transf of single KL+DP from it
  top_single_run: folder of that single run, relative to the results folder
  gain_over_top_single: sequential_delta_transf - top_single_delta_transf
  best_single_delta_transf: best delta_transf of single KL+DP runs from the K teachers with these settings
  epochs_per_teacher: epochs of each step and of the single run
---*/
-- recommend_improve: every recommend/improve/<student>__top<K>/improve.parquet (docs/method.md#improving-a-student).
-- Placeholder (gkt/db/build.py): files = those files.
SELECT * FROM {{files}}
