-- Fig. 8: transfer delta (KL-Dist + DP) against student properties: accuracy, size and family;
-- one row per student, mean and standard deviation over its teachers.
SELECT student,
       coalesce(any_value(student_family), 'unknown') AS student_family,
       any_value(student_arch_family)                 AS student_arch_family,
       100 * any_value(acc_student)                   AS student_acc_pct,
       any_value(student_params) / 1e6                AS params_m,
       count(*)                                       AS teachers,
       avg(100 * delta_transf)                        AS mean_delta_transf_pct,
       stddev_samp(100 * delta_transf)                AS std_delta_transf_pct
FROM transfer_in_domain
WHERE method = 'kl_dp'
GROUP BY student
ORDER BY student_family, params_m, student;
