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
SELECT l.run, l.method, l.objective, l.teacher, l.student, l.n_teachers, l.is_multi, l.epoch AS epochs,
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
