-- Ranking validation: leave-one-student-out validation of the teacher ranking against the measured
-- KL+DP runs, per student and over all students (recommend_validation,
-- docs/method.md#validating-the-ranking): Spearman correlation, top-1 hit, regret in pp, for the model
-- the probes and the three baselines.
SELECT student, ranker, students, teachers, spearman, top1_hit, 100 * regret AS regret_pp, picked_teacher,
       100 * picked_delta_transf AS picked_delta_transf_pp, best_teacher, 100 * best_delta_transf AS best_delta_transf_pp
FROM recommend_validation
ORDER BY student IS NULL, student,
         CASE ranker WHEN 'model' THEN 0 WHEN 'probe' THEN 1 WHEN 'random' THEN 2 WHEN 'most_accurate' THEN 3 ELSE 4 END
