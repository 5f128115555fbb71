/*---
doc: Semantic similarity of each pair's top-X% positive-flip classes (complementary/semantic.parquet).
columns:
  teacher: teacher model
  student: student model
  x: X in percent (2, 5, 10, 20, 50)
  k: classes in the top-X% set
  sim_set: mean pairwise cosine similarity inside the set (NaN if k < 2)
  sim_all: mean pairwise similarity over all classes
  rel_sim: (sim_set - sim_all) / sim_all
  encoder: text encoder of the class-name embeddings
---*/
-- semantic: complementary/semantic.parquet as written.
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
