-- Table 3: supervised vs unsupervised KL-Dist + DP per student: transfer delta (mean and std over
-- teachers) and the DP assignment: shares of positive / negative flip training samples routed to
-- the teacher (paper: 72 % / 9 %).
SELECT student,
       100 * any_value(acc_student)    AS student_acc_pct,
       method,
       count(*)                        AS teachers,
       avg(100 * delta_transf)         AS mean_delta_transf_pct,
       stddev_samp(100 * delta_transf) AS std_delta_transf_pct,
       avg(100 * dp_pos_to_teacher)    AS pos_to_teacher_pct,
       avg(100 * dp_neg_to_teacher)    AS neg_to_teacher_pct
FROM transfer_in_domain
WHERE method IN ('kl_dp', 'kl_dp_unsup')
GROUP BY student, method
ORDER BY student_acc_pct DESC, student, method;
