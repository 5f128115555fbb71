-- models: one row per zoo record, with the val top-1 measured from the model's val logits cache.
-- top1: the record's (measured after training or fine-tuning here, or timm's results table), else
-- the cache's (a random-init control, a pretrained model without a results table).
-- Placeholders (gkt/db/build.py): records = the zoo/<model>.json records (the fields of
-- gkt.zoo.record.ModelRecord); val_cache_metadata = the key/value metadata of logits/val/*.parquet. A cache
-- of another model or other weights (a file copied over another) gives no logits_top1.
WITH rec AS (SELECT * FROM {{records}}),
meta AS (SELECT file_name, decode(key) AS key, decode(value)::JSON ->> '$' AS value FROM {{val_cache_metadata}}),
cache AS (  -- a cache counts for the model and weights that made it (its metadata), not for its file name alone
    SELECT max(value) FILTER (WHERE key = 'model') AS name,
           max(value) FILTER (WHERE key = 'weights_hash') AS cache_weights_hash,
           TRY_CAST(max(value) FILTER (WHERE key = 'top1') AS DOUBLE) AS logits_top1
    FROM meta WHERE key IN ('model', 'weights_hash', 'top1') GROUP BY file_name
    HAVING regexp_extract(file_name, '([^/]+)\.parquet$', 1) = name)
SELECT rec.name, rec.arch, rec.source, rec.family, rec.arch_family, rec.params, rec.params / 1e6 AS params_m,
       rec.num_classes, rec.dataset, rec.weights_hash, coalesce(rec.top1, cache.logits_top1) AS top1, cache.logits_top1,
       CASE WHEN rec.source = 'timm' AND rec.top1 IS NOT NULL THEN cache.logits_top1 - rec.top1 END AS top1_gap,
       rec.kwargs, rec.recipe,
       rec.seed, rec.train_seconds, rec.file, rec.train_samples, rec.base_zoo, rec.base_model, rec.base_source,
       rec.base_dataset, rec.base_weights_hash, rec.tune, rec.source = 'random' AS is_random_init
FROM rec LEFT JOIN cache ON cache.name = rec.name AND cache.cache_weights_hash = rec.weights_hash
