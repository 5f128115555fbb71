-- Fig. 10: transfer delta with a domain-shifted teacher (its zoo record names another dataset than
-- the student's), KL-Dist vs KL-Dist + DP, one row per run.
SELECT method,
       teacher,
       teacher_dataset,
       student,
       student_dataset,
       100 * delta_transf AS delta_transf_pct,
       100 * gain         AS gain_pct,
       100 * loss         AS loss_pct
FROM transfer_final
WHERE teacher_domain_shifted AND method IN ('kl', 'kl_dp')
ORDER BY student, teacher, method;
