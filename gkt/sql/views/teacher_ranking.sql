-- teacher_ranking: recommend/ranking.parquet as written (docs/method.md#teacher-ranking).
-- Placeholder (gkt/db/build.py): files = that file.
SELECT * FROM {{files}}
