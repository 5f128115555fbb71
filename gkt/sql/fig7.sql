-- Fig. 7: knowledge gain against knowledge loss per (teacher, student) pair, KL-Dist vs KL-Dist + DP.
-- Points above the diagonal gain = loss are positive transfers (delta_transf = gain - loss > 0).
SELECT method,
       teacher,
       student,
       100 * gain                  AS gain_pct,
       100 * loss                  AS loss_pct,
       100 * delta_transf          AS delta_transf_pct,
       student_family,
       student_params / 1e6        AS student_params_m,
       teacher_family,
       100 * acc_teacher           AS teacher_acc_pct,
       100 * delta_acc             AS delta_acc_pct
FROM transfer_in_domain
WHERE method IN ('kl', 'kl_dp')
ORDER BY method, student, teacher;
