/*---
doc: Per (pair, class) flips (complementary/per_class.parquet). The top-X% class set of a pair is its rows with
  rank <= semantic.k.
columns:
  teacher: teacher model
  student: student model
  class: class index
  class_name: class name
  n_class: val samples of the class
  pos_flips: positive flips in the class
  neg_flips: negative flips in the class
  pos_share: pos_flips / n_class (NaN for an empty class)
  neg_share: neg_flips / n_class
  q: pos_flips / all positive flips of the pair
  rank: 1 = class with most positive flips (ties by class)
---*/
-- per_class: complementary/per_class.parquet as written.
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
