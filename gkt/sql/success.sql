-- Success table: per method, the success rate as the mean over runs, as the paper's median over
-- students and as the share of significant successes, and the mean delta_transf; the bootstrap
-- intervals over students are computed from these per-student rows (gkt/figures/summary.py).
-- student_success: gkt/sql/shared/student_success.sql (shared with Fig. 4a).
SELECT * FROM student_success ORDER BY method, student;
