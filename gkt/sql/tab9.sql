-- Table 9: multi-teacher transfer with KL-Dist (kl): sequential, parallel and soup runs against the
-- best (and the mean) single-teacher transfer from the same teachers into the same student.
-- One row per (student, teacher set, variant); transfer deltas in percentage points.
WITH multi AS (
    SELECT student, teacher AS teachers, method AS variant, delta_transf
    FROM transfer_final
    WHERE is_multi AND objective = 'kl'
),
sets AS (SELECT DISTINCT student, teachers FROM multi),
single AS (
    SELECT s.student, s.teachers, f.teacher, f.delta_transf
    FROM sets s
    JOIN transfer_final f
      ON f.student = s.student AND NOT f.is_multi AND f.method = 'kl'
     AND list_contains(string_split(s.teachers, '+'), f.teacher)
)
SELECT student, teachers, variant, 100 * delta_transf AS delta_transf_pct, NULL AS single_teacher,
       NULL::INTEGER AS single_runs
FROM multi
UNION ALL
SELECT student, teachers, 'best_single', 100 * max(delta_transf), arg_max(teacher, delta_transf),
       count(*)::INTEGER
FROM single GROUP BY student, teachers
UNION ALL
SELECT student, teachers, 'mean_single', 100 * avg(delta_transf), NULL, count(*)::INTEGER
FROM single GROUP BY student, teachers
ORDER BY student, teachers, variant;
