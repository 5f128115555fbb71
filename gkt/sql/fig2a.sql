-- Fig. 2a: sorted per-class positive-flip shares of one student with a weak teacher (most negative
-- delta_acc), an equal one (|delta_acc| smallest) and a strong one (largest delta_acc).
-- The student: the one whose teachers span the widest accuracy range (ties by name).
WITH cand AS (
    SELECT * FROM pairs WHERE NOT teacher_is_control AND pos_flips > 0
),
chosen AS (
    SELECT student FROM cand
    GROUP BY student
    ORDER BY count(DISTINCT teacher) >= 3 DESC, max(delta_acc) - min(delta_acc) DESC, student
    LIMIT 1
),
roles AS (
    SELECT 1 AS role_order, 'weak' AS role, arg_min(teacher, delta_acc) AS teacher
    FROM cand WHERE student = (SELECT student FROM chosen)
    UNION ALL
    SELECT 2, 'equal', arg_min(teacher, abs(delta_acc))
    FROM cand WHERE student = (SELECT student FROM chosen)
    UNION ALL
    SELECT 3, 'strong', arg_max(teacher, delta_acc)
    FROM cand WHERE student = (SELECT student FROM chosen)
)
SELECT r.role_order,
       r.role,
       pc.teacher,
       pc.student,
       100 * p.delta_acc AS delta_acc_pct,
       100 * p.rho_pos   AS rho_pos_pct,
       row_number() OVER (PARTITION BY r.role ORDER BY pc.pos_share DESC NULLS LAST, pc."class") AS position,
       pc."class",
       pc.class_name,
       pc.pos_flips,
       pc.n_class,
       100 * pc.pos_share AS pos_share_pct
FROM roles r
JOIN per_class pc ON pc.teacher = r.teacher AND pc.student = (SELECT student FROM chosen)
JOIN pairs p ON p.teacher = pc.teacher AND p.student = pc.student
ORDER BY r.role_order, position;
