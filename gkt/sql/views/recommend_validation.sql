-- recommend_validation: recommend/validation.parquet as written (docs/method.md#validating-the-ranking).
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
