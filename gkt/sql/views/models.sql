/*---
doc: Zoo models, one row per zoo/<model>.json record (gkt.zoo.store.ModelRecord).
columns:
  name: model name
  arch: timm architecture
  source: train | timm | file | random | finetune
  family: cnn | transformer | mlp | hybrid
  arch_family: architecture family, e.g. resnet
  params: number of parameters
  params_m: parameters in millions
  num_classes: classes of the classifier head
  dataset: dataset the model was made for
  weights_hash: sha256 prefix of the weights
  top1: 'val top-1 accuracy (fraction 0..1): the record''s (measured after training or fine-tuning here, or timm''s
    results table), else logits_top1 (the random-init control, pretrained models without a results table)'
  logits_top1: val top-1 accuracy measured from the val logits cache (NULL without a cache, or when the cache was
    made by another model or other weights than the record's)
  top1_gap: logits_top1 - top1 for timm models whose top1 is timm's results-table value (dataset.timm_results),
    else NULL; the logits stage logs a gap over 0.003 (0.3 pp)
  kwargs: timm create_model kwargs (JSON)
  recipe: training recipe (JSON)
  seed: seed
  train_seconds: training time in seconds
  file: weights file for source=file
  train_samples: samples key (ids and labels) of the train split the model was trained (or fine-tuned) on; NULL
    if not trained here
  base_zoo: 'source finetune: zoo folder of the model it was fine-tuned from'
  base_model: 'source finetune: the model it was fine-tuned from'
  base_source: 'source finetune: source of the model its chain of bases starts from (timm/file: pretrained)'
  base_dataset: 'source finetune: dataset the base model was made for (dataset: the one it was fine-tuned on)'
  base_weights_hash: 'source finetune: weights hash of the base model when it was fine-tuned'
  tune: 'source finetune: what was fine-tuned, head (the classification layer) or all (the whole network)'
  is_random_init: true for randomly initialised (control) models
---*/
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
