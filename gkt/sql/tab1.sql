-- Table 1: transfer delta per student and method, mean and standard deviation over its teachers
-- (percentage points); single-teacher runs.
SELECT student,
       100 * any_value(acc_student)    AS student_acc_pct,
       method,
       count(*)                        AS teachers,
       avg(100 * delta_transf)         AS mean_delta_transf_pct,
       stddev_samp(100 * delta_transf) AS std_delta_transf_pct,
       count(*) FILTER (WHERE delta_transf > 0) AS successes
FROM transfer_in_domain
GROUP BY student, method
ORDER BY student_acc_pct DESC, student, method;
