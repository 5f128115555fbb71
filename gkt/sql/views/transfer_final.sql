/*---
doc: 'One row per transfer run: its last epoch, with the initial flip rates, the overall transfer rate and the teacher''s
  and student''s zoo metadata. Fractions 0..1.'
columns:
  run: run directory
  method: transfer method (the loss; transfer_metrics.method)
  mode: multi-teacher mode (sequential, parallel, soup, soup_greedy); NULL for single-teacher runs
  teacher: teacher(s)
  student: student
  n_teachers: teachers
  is_multi: multi-teacher run
  epochs: last epoch
  acc: final val top-1
  acc_student: initial student top-1
  acc_teacher: (best) teacher top-1
  delta_acc: acc_teacher - acc_student
  delta_transf: acc - acc_student
  success: delta_transf > 0
  gain: knowledge gain
  loss: knowledge loss
  delta_transf_se: 'standard error of delta_transf (paired proportions: sqrt(gain + loss - delta_transf^2) / sqrt(n))'
  delta_transf_lo: delta_transf - 1.96 delta_transf_se (normal 95 % interval)
  delta_transf_hi: delta_transf + 1.96 delta_transf_se
  mcnemar_p: exact two-sided McNemar p-value of gained vs lost val samples
  significant: mcnemar_p < 0.05
  significant_success: delta_transf > 0 and significant
  rho_pos_initial: rho_pos before transfer
  rho_neg_initial: rho_neg before transfer
  rho_pos: rho_pos after
  rho_neg: rho_neg after
  delta_rho_pos: rho_pos change
  delta_rho_neg: rho_neg change
  dp_pos_to_teacher: mean over the rows after epoch 0 (each covering the epochs since the one before) of the DP
    share of positive flips routed to the teacher
  dp_neg_to_teacher: mean over the rows after epoch 0 (each covering the epochs since the one before) of the DP
    share of negative flips routed to the teacher
  lr: learning rate
  temperature: temperature
  lam: lambda
  seconds_total: summed epoch seconds
  transfer_rate: transferred / positive flips over all classes (from transfer_per_class)
  student_family: student family
  student_arch_family: student architecture family
  student_params: student parameters
  student_top1: student top-1 (zoo record)
  student_dataset: dataset of the student's zoo record
  teacher_family: teacher family (NULL for multi-teacher runs)
  teacher_arch_family: teacher architecture family
  teacher_params: teacher parameters
  teacher_top1: teacher top-1 (zoo record)
  teacher_dataset: dataset of the teacher's zoo record
  teacher_domain_shifted: the teacher's record names another dataset than the student's
  pair_entropy_norm: normalised entropy of the pair's complementary knowledge (pairs)
  pair_kappa: error consistency of the pair (pairs)
---*/
-- transfer_final: one row per transfer run, its last epoch, with the initial flip rates, the summed
-- epoch seconds, the mean DP shares, the overall transfer rate and the zoo metadata of teacher and
-- student. A run's uncertainty (docs/method.md#uncertainty): the standard error of its Δtransf, a
-- normal 95 % interval, and the exact McNemar test of gained vs lost samples (significant: p < 0.05).
WITH last AS (
    SELECT * FROM transfer_metrics QUALIFY row_number() OVER (PARTITION BY run ORDER BY epoch DESC) = 1),
agg AS (
    SELECT run, arg_min(rho_pos, epoch) AS rho_pos_initial, arg_min(rho_neg, epoch) AS rho_neg_initial,
           sum(seconds) AS seconds_total,
           avg(dp_pos_to_teacher) FILTER (WHERE epoch > 0 AND NOT isnan(dp_pos_to_teacher)) AS dp_pos_to_teacher,
           avg(dp_neg_to_teacher) FILTER (WHERE epoch > 0 AND NOT isnan(dp_neg_to_teacher)) AS dp_neg_to_teacher
    FROM transfer_metrics GROUP BY run),
rates AS (SELECT run, sum(transferred) / nullif(sum(pos_flips), 0) AS transfer_rate
          FROM transfer_per_class GROUP BY run)
SELECT l.run, l.method, l.mode, l.teacher, l.student, l.n_teachers, l.is_multi, l.epoch AS epochs,
       l.acc, l.acc_student, l.acc_teacher, l.acc_teacher - l.acc_student AS delta_acc,
       l.delta_transf, l.delta_transf > 0 AS success, l.gain, l.loss,
       l.delta_transf_se, l.delta_transf - 1.96 * l.delta_transf_se AS delta_transf_lo,
       l.delta_transf + 1.96 * l.delta_transf_se AS delta_transf_hi, l.mcnemar_p,
       l.mcnemar_p < 0.05 AS significant, l.delta_transf > 0 AND l.mcnemar_p < 0.05 AS significant_success,
       a.rho_pos_initial, a.rho_neg_initial, l.rho_pos, l.rho_neg, l.delta_rho_pos, l.delta_rho_neg,
       a.dp_pos_to_teacher, a.dp_neg_to_teacher, l.lr, l.temperature, l.lam, a.seconds_total, r.transfer_rate,
       s.family AS student_family, s.arch_family AS student_arch_family, s.params AS student_params,
       s.top1 AS student_top1, s.dataset AS student_dataset,
       t.family AS teacher_family, t.arch_family AS teacher_arch_family, t.params AS teacher_params,
       t.top1 AS teacher_top1, t.dataset AS teacher_dataset,
       coalesce(t.dataset <> s.dataset, false) AS teacher_domain_shifted,
       p.entropy_norm AS pair_entropy_norm, p.kappa AS pair_kappa
FROM last l JOIN agg a USING (run)
LEFT JOIN rates r USING (run)
LEFT JOIN models s ON s.name = l.student
LEFT JOIN models t ON t.name = l.teacher
LEFT JOIN pairs p ON p.teacher = l.teacher AND p.student = l.student
