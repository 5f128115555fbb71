-- class_embeddings: complementary/class_embeddings.parquet as written.
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
