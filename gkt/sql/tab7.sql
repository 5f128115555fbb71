-- Table 7: transfer delta of every (teacher, student) pair and method (percentage points);
-- single-teacher runs.
SELECT student,
       teacher,
       100 * acc_student  AS student_acc_pct,
       100 * acc_teacher  AS teacher_acc_pct,
       method,
       100 * delta_transf AS delta_transf_pct
FROM transfer_in_domain
ORDER BY student_acc_pct DESC, student, teacher_acc_pct DESC, teacher, method;
