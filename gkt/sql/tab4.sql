-- Table 4: multi-teacher transfer with KL-Dist + DP (method kl_dp): sequential, parallel and soup runs
-- against the best (and the mean) single-teacher KL-Dist + DP transfer from the same teachers into the
-- same student. One row per (student, teacher set, variant); transfer deltas in percentage points.
-- multi_vs_single: gkt/sql/shared/multi_vs_single.sql (the comparison, shared with Table 9).
SELECT student, teachers, variant, delta_transf_pct, single_teacher, single_runs, se_pct
FROM multi_vs_single
WHERE method = 'kl_dp'
ORDER BY student, teachers, variant;
