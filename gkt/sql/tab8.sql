-- Table 8: change of the positive and negative flip shares of the teacher over the student through
-- KL-Dist + DP transfer, per student: mean and std over its teachers (percentage points of val samples).
SELECT student,
       100 * any_value(acc_student)     AS student_acc_pct,
       count(*)                         AS teachers,
       avg(100 * delta_transf)          AS mean_delta_transf_pct,
       stddev_samp(100 * delta_transf)  AS std_delta_transf_pct,
       avg(100 * delta_rho_pos)         AS mean_delta_rho_pos_pct,
       stddev_samp(100 * delta_rho_pos) AS std_delta_rho_pos_pct,
       avg(100 * delta_rho_neg)         AS mean_delta_rho_neg_pct,
       stddev_samp(100 * delta_rho_neg) AS std_delta_rho_neg_pct
FROM transfer_in_domain
WHERE method = 'kl_dp'
GROUP BY student
ORDER BY student_acc_pct DESC, student;
