-- multi_vs_single (Tables 4 and 9): every multi-teacher transfer run (sequential, parallel, soup,
-- greedy soup) against the best and the mean single-teacher transfer with the run's method (the
-- loss it used) from the same teachers into the same student. One row per (method, student,
-- teacher set, variant): variant is the multi-teacher mode, best_single or mean_single;
-- single_teacher names the best single teacher, single_runs counts the single-teacher runs;
-- transfer deltas in percentage points; se_pct is a run's standard error (NULL for the mean).
WITH multi AS (
    SELECT method, student, teacher AS teachers, mode AS variant, delta_transf, delta_transf_se
    FROM transfer_final
    WHERE is_multi
),
sets AS (SELECT DISTINCT method, student, teachers FROM multi),
single AS (
    SELECT s.method, s.student, s.teachers, f.teacher, f.delta_transf, f.delta_transf_se
    FROM sets s
    JOIN transfer_final f
      ON f.student = s.student AND NOT f.is_multi AND f.method = s.method
     AND list_contains(string_split(s.teachers, '+'), f.teacher)
)
SELECT method, student, teachers, variant, 100 * delta_transf AS delta_transf_pct, NULL AS single_teacher,
       NULL::INTEGER AS single_runs, 100 * delta_transf_se AS se_pct
FROM multi
UNION ALL
SELECT method, student, teachers, 'best_single', 100 * max(delta_transf), arg_max(teacher, delta_transf),
       count(*)::INTEGER, 100 * arg_max(delta_transf_se, delta_transf)
FROM single GROUP BY method, student, teachers
UNION ALL
SELECT method, student, teachers, 'mean_single', 100 * avg(delta_transf), NULL, count(*)::INTEGER, NULL
FROM single GROUP BY method, student, teachers;
