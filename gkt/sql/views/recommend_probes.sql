-- recommend_probes: every recommend/probe/<student>.parquet (docs/method.md#probe-ranking).
-- Placeholder (gkt/db/build.py): files = those files.
SELECT * FROM {{files}}
