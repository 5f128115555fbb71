/*---
doc: Transfer runs, one row per (run, epoch); epoch 0 = before transfer (transfer/<method>/<teacher>__<student>/metrics.parquet).
  Accuracies, gain, loss and flip rates are fractions 0..1 of the val samples.
columns:
  method: 'transfer method: the loss that transfers (kl, kl_dp, xekl_mcl, ...), for single- and multi-teacher runs alike'
  mode: 'how a multi-teacher run combines its teachers: sequential, parallel, soup or soup_greedy (gkt/transfer/vocabulary.py);
    NULL for single-teacher runs'
  teacher: 'teacher model (multi-teacher runs: names joined by ''+'')'
  student: student model
  epoch: epoch (0 = initial student)
  acc: val top-1 of the transferred student
  acc_student: val top-1 of the initial student
  acc_teacher: val top-1 of the (best) teacher
  delta_transf: acc - acc_student (= gain - loss)
  gain: samples wrong before, right now / n
  loss: samples right before, wrong now / n
  delta_transf_se: standard error of delta_transf at this epoch
  mcnemar_p: exact two-sided McNemar p-value of gained vs lost samples at this epoch
  rho_pos: positive flips of the teacher over the current student / n
  rho_neg: negative flips / n
  delta_rho_pos: rho_pos now - rho_pos before
  delta_rho_neg: rho_neg now - rho_neg before
  dp_pos_to_teacher: share of positive-flip training samples DP routed to the teacher over the epochs since the
    previous row (NaN without DP)
  dp_neg_to_teacher: share of negative-flip training samples routed to the teacher over the epochs since the previous
    row (NaN without DP)
  seconds: wall time of the epoch
  lr: learning rate
  temperature: KL temperature
  lam: KL weight lambda
  run: run directory '<method>/<teacher>__<student>'; multi-teacher runs 'multi_<mode>-<method>/<t1+t2+...>__<student>'
    (gkt/transfer/vocabulary.py)
  n_teachers: number of teachers
  is_multi: multi-teacher run
---*/
-- transfer_metrics: every transfer run's metrics.parquet, one row per (run, epoch), with the run's
-- directory <method folder>/<teacher>__<student> (gkt/transfer/vocabulary.py: multi-teacher runs
-- live in multi_<mode>-<method>/) and its number of teachers. A metrics file names a multi-teacher run's
-- method multi_<mode> and its loss `objective` (gkt.transfer.metrics, the files as runs wrote them); the
-- database speaks one word per idea: `method` is the loss for every run, `mode` how teachers combine.
-- Placeholder (gkt/db/build.py): files = transfer/*/*/metrics.parquet (with their file names).
SELECT m.objective AS method,
       CASE WHEN starts_with(m.method, 'multi_') THEN substr(m.method, 7) END AS mode,
       m.* EXCLUDE (filename, method, objective),
       regexp_extract(filename, '([^/]+/[^/]+)/metrics\.parquet$', 1) AS run,
       len(string_split(teacher, '+')) AS n_teachers,
       starts_with(m.method, 'multi_') AS is_multi
FROM {{files}} m
-- In a fixed order: the figures' sums and bootstraps over runs then do not depend on how the files were scanned.
ORDER BY run, epoch
