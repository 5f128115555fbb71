-- recommend_improve: every recommend/improve/<student>__top<K>/improve.parquet (docs/method.md#improving-a-student).
-- Placeholder (gkt/db/build.py): files = those files.
SELECT * FROM {{files}}
