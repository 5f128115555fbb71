/*---
doc: 'Every zoo model ranked as a KL+DP teacher for every student (docs/method.md#teacher-ranking; recommend/ranking.parquet):
  score = predicted KL+DP delta_transf = intercept + coef_rho_pos * rho_pos + coef_rho_neg * rho_neg + coef_dp_route
  * dp_route, fitted on the KL+DP runs of the other students only.'
columns:
  student: student model
  teacher: candidate teacher
  rank: '1 = recommended first (ties by teacher name); NULL: not scored (a feature is missing)'
  score: 'what the ranking sorts by: predicted_delta_transf, or rho_pos when scorer = ''rho_pos'''
  predicted_delta_transf: predicted KL+DP transfer delta (fraction; NULL when scorer = 'rho_pos')
  scorer: fit (least squares on the other students' runs) | rho_pos (too few runs to fit)
  measured_delta_transf: delta_transf of the pair's KL+DP run (transfer/kl_dp), NULL without one
  probe_delta_transf: delta_transf of the pair's probe on held-out train images (view recommend_probes; the probe
    ranker's score), NULL without one
  rho_pos: positive flips / n on val
  rho_neg: negative flips / n on val
  kappa: Cohen's kappa on val
  delta_acc: acc_t - acc_s on val
  dp_route: share of the transfer set KL+DP would distil from the teacher (its true-class probability above the
    frozen student's); NULL without both train-split logits caches
  acc_t: teacher val top-1
  acc_s: student val top-1
  teacher_family: teacher family
  teacher_params: teacher parameters
  teacher_is_control: teacher is a random-init control
  fit_runs: 'KL+DP runs the student''s model was fitted on (0: rule)'
  fit_students: students those runs come from (never the ranked student)
  intercept: fitted intercept a
  coef_rho_pos: fitted slope of rho_pos
  coef_rho_neg: fitted slope of rho_neg
  coef_dp_route: fitted slope of dp_route
---*/
-- teacher_ranking: recommend/ranking.parquet as written (docs/method.md#teacher-ranking).
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
