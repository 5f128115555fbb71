-- student_success (Fig. 4a and the success table): per method and student, over the student's
-- single-teacher runs: how many teachers, how many raised its val accuracy (delta_transf > 0), how
-- many of those are significant (McNemar p < 0.05), and the summed delta_transf.
SELECT method,
       student,
       any_value(student_family)                          AS student_family,
       count(*)                                           AS teachers,
       count(*) FILTER (WHERE delta_transf > 0)           AS successes,
       count(*) FILTER (WHERE significant_success)        AS significant_successes,
       sum(delta_transf)                                  AS sum_delta_transf,
       100 * avg(CASE WHEN delta_transf > 0 THEN 1 ELSE 0 END) AS success_rate_pct
FROM transfer_in_domain
GROUP BY method, student
