-- Fig. 4a: success rate per student and method: the share of its teachers whose transfer raised
-- the student's val accuracy (delta_transf > 0). Single-teacher runs only.
SELECT method,
       student,
       any_value(student_family)                               AS student_family,
       count(*)                                                AS teachers,
       count(*) FILTER (WHERE delta_transf > 0)                AS successes,
       100 * avg(CASE WHEN delta_transf > 0 THEN 1 ELSE 0 END) AS success_rate_pct
FROM transfer_final
WHERE NOT is_multi
GROUP BY method, student
ORDER BY method, student;
