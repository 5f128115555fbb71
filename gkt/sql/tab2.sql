-- Table 2: examples of KL-Dist + DP transfer: two students (the most accurate ones that have both a
-- stronger and a weaker teacher), each with its strongest and its weakest teacher.
WITH r AS (
    SELECT * FROM transfer_in_domain WHERE method = 'kl_dp'
),
students AS (
    SELECT student, any_value(acc_student) AS acc_student
    FROM r
    GROUP BY student
    HAVING bool_or(delta_acc > 0) AND bool_or(delta_acc < 0)
    ORDER BY acc_student DESC, student
    LIMIT 2
),
picked AS (
    SELECT student, 'stronger' AS teacher_role, arg_max(teacher, delta_acc) AS teacher
    FROM r WHERE delta_acc > 0 AND student IN (SELECT student FROM students) GROUP BY student
    UNION ALL
    SELECT student, 'weaker', arg_min(teacher, delta_acc)
    FROM r WHERE delta_acc < 0 AND student IN (SELECT student FROM students) GROUP BY student
)
SELECT p.student,
       100 * r.acc_student  AS student_acc_pct,
       p.teacher_role,
       p.teacher,
       100 * r.acc_teacher  AS teacher_acc_pct,
       100 * r.delta_acc    AS delta_acc_pct,
       100 * r.delta_transf AS delta_transf_pct,
       100 * r.gain         AS gain_pct,
       100 * r.loss         AS loss_pct
FROM picked p
JOIN r USING (student, teacher)
ORDER BY r.acc_student DESC, p.student, p.teacher_role;
