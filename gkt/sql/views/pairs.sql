/*---
doc: Complementary knowledge per (teacher, student) pair on the val split (docs/method.md#complementary-knowledge;
  complementary/pairs.parquet). Accuracies and rates are fractions 0..1.
columns:
  teacher: teacher model
  student: student model
  n: val samples
  num_classes: classes
  acc_t: teacher top-1
  acc_s: student top-1
  delta_acc: acc_t - acc_s
  rho_pos: positive flips / n (teacher right, student wrong)
  rho_neg: negative flips / n
  kappa: Cohen's kappa error consistency
  entropy: entropy of q over classes (nats)
  entropy_norm: entropy / log(num_classes), 0..1
  pos_flips: positive flips
  neg_flips: negative flips
  teacher_is_control: teacher is the random-init control
  rho_pos_lo: lower end of the 95 % bootstrap interval of rho_pos over the val samples (docs/method.md#bootstrap-intervals-of-pair-statistics)
  rho_pos_hi: upper end of that interval
  rho_neg_lo: lower end of the 95 % bootstrap interval of rho_neg
  rho_neg_hi: upper end of that interval
  kappa_lo: lower end of the 95 % bootstrap interval of kappa
  kappa_hi: upper end of that interval
---*/
-- pairs: complementary/pairs.parquet as written.
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
