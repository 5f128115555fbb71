-- Fig. 5b: transfer rate (positive-flip samples the student now gets right / all of them, over all
-- classes) against student size, per student (mean over its teachers), KL-Dist + DP runs.
SELECT student,
       coalesce(any_value(student_family), 'unknown') AS student_family,
       any_value(student_arch_family)                 AS student_arch_family,
       any_value(student_params) / 1e6                AS params_m,
       count(*)                                       AS teachers,
       avg(100 * transfer_rate)                       AS mean_rate_pct,
       stddev_samp(100 * transfer_rate)               AS std_rate_pct,
       avg(100 * delta_transf)                        AS mean_delta_transf_pct
FROM transfer_in_domain
WHERE method = 'kl_dp' AND transfer_rate IS NOT NULL
GROUP BY student
ORDER BY student_family, params_m, student;
