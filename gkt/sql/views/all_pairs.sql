/*---
doc: Pair-level statistics of every ordered pair of zoo models on the val split (docs/method.md#all-pairs; recommend/all_pairs.parquet),
  beside the sampled study of view pairs (the paper's Fig. 1 population). Fractions 0..1.
columns_like: pairs  # the columns without a meaning here mean what they mean there
columns:
  teacher:
  student:
  n:
  acc_t:
  acc_s:
  delta_acc:
  rho_pos:
  rho_neg:
  kappa:
  pos_flips:
  neg_flips:
  teacher_is_control: teacher is a random-init control
  student_is_control: student is a random-init control
  in_study: the pair is in the sampled study (view pairs)
---*/
-- all_pairs: every ordered pair of the zoo (recommend/all_pairs.parquet, docs/method.md#all-pairs), with
-- whether the sampled study of the pairs view (the paper's Fig. 1 population) holds it.
-- Placeholder (gkt/db/build.py): files = that file.
SELECT a.*, EXISTS (SELECT 1 FROM pairs p WHERE p.teacher = a.teacher AND p.student = a.student) AS in_study
FROM {{files}} a
