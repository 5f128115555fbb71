-- Probe fit: the probe's transfer delta (on held-out train images) of every pair with a measured KL+DP run
-- and a probe (teacher_ranking, docs/method.md#probe-ranking), against the measured delta, in pp; is_top:
-- the pair's probe is the best among the student's measured teachers (ties by teacher name).
SELECT student, teacher, 100 * probe_delta_transf AS probe_pp, 100 * measured_delta_transf AS measured_pp,
       teacher = first(teacher ORDER BY probe_delta_transf DESC, teacher) OVER (PARTITION BY student) AS is_top
FROM teacher_ranking
WHERE measured_delta_transf IS NOT NULL AND probe_delta_transf IS NOT NULL
ORDER BY student, probe_delta_transf DESC, teacher
