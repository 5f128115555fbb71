/*---
doc: Text embeddings of the class names (complementary/class_embeddings.parquet).
columns:
  class: class index
  class_name: class name
  encoder: text encoder
  embedding: embedding vector
---*/
-- class_embeddings: complementary/class_embeddings.parquet as written.
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
