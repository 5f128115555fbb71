-- Ranking fit: the predicted KL+DP transfer delta of every pair with a measured KL+DP run, from the
-- fit on the other students' runs only (teacher_ranking, docs/method.md#validating-the-ranking), against
-- the measured delta, in pp; is_top: the pair's teacher ranks first among the student's measured teachers.
SELECT student, teacher, 100 * predicted_delta_transf AS predicted_pp, 100 * measured_delta_transf AS measured_pp,
       rank, rank = min(rank) OVER (PARTITION BY student) AS is_top
FROM teacher_ranking
WHERE scorer = 'fit' AND measured_delta_transf IS NOT NULL AND predicted_delta_transf IS NOT NULL
ORDER BY student, rank
