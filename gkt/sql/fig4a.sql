-- Fig. 4a: success rate per student and method: the share of its teachers whose transfer raised
-- the student's val accuracy (delta_transf > 0). Single-teacher runs only.
-- student_success: gkt/sql/shared/student_success.sql (shared with the success table).
SELECT * FROM student_success ORDER BY method, student;
