-- Fig. 1a: complementary knowledge rho_pos against the accuracy difference, one point per
-- (teacher, student) pair of the complementary-knowledge study; random-init control pairs flagged.
-- delta_acc_pct: acc(teacher) - acc(student) in percentage points; rho_pos_pct: % of val samples.
SELECT teacher,
       student,
       100 * delta_acc AS delta_acc_pct,
       100 * rho_pos   AS rho_pos_pct,
       teacher_is_control,
       num_classes
FROM pairs
ORDER BY teacher_is_control, delta_acc, teacher, student;
