-- Zoo ρ_pos: the complementary knowledge of every ordered pair of the zoo (all_pairs,
-- docs/method.md#all-pairs) as a matrix, rows = students, columns = teachers; models ordered by family,
-- then by val accuracy (highest first), random-init controls last (as teachers only: as students they
-- are wrong almost everywhere and would swamp the scale) in a family of their own, 'control'.
-- family_mean_pct: the mean ρ_pos of the (student family, teacher family) block, which the figure shows
-- beside the matrix when the zoo is too large to name each model.
WITH m AS (
    SELECT name, CASE WHEN is_random_init THEN 'control' ELSE coalesce(family, 'unknown') END AS family,
           coalesce(logits_top1, top1) AS acc, is_random_init,
           row_number() OVER (ORDER BY is_random_init, family, coalesce(logits_top1, top1) DESC, name) AS pos
    FROM models WHERE name IN (SELECT teacher FROM all_pairs))
SELECT a.teacher, a.student, 100 * a.rho_pos AS rho_pos_pct, a.in_study,
       t.pos AS teacher_pos, t.family AS teacher_family, t.is_random_init AS teacher_is_control,
       s.pos AS student_pos, s.family AS student_family, 100 * s.acc AS student_acc_pct,
       avg(100 * a.rho_pos) OVER (PARTITION BY s.family, t.family) AS family_mean_pct
FROM all_pairs a JOIN m t ON t.name = a.teacher JOIN m s ON s.name = a.student
WHERE NOT a.student_is_control
ORDER BY student_pos, teacher_pos
