/*---
doc: 'Probes: short KL+DP runs from a student''s candidate teachers, read on held-out train images, never on val
  (docs/method.md#probe-ranking; recommend/probe/<student>.parquet, one row per probe).'
columns:
  student: student model
  teacher: probed candidate teacher
  probe_delta_transf: 'the probe''s score: accuracy after the probe - before, on the held-out slice'
  probe_delta_transf_se: 'its standard error (paired: from the shares of images turned right and wrong); probes
    closer than about two of these are not told apart by the slice'
  gain: share of the slice the probe turned right
  loss: share of the slice it turned wrong
  acc_before: student accuracy on the slice before
  acc_after: after the probe
  epochs: the probe's epochs
  run_epochs: the full KL+DP run's epochs
  transfer_images: images of the probe's transfer set
  holdout_images: images of the held-out slice (train split, outside the probe's transfer set)
  seconds: wall time of the probe when it ran (setup, training, reading)
  folder: the probe's run folder (its metrics.parquet), relative to the results folder
---*/
-- recommend_probes: every recommend/probe/<student>.parquet (docs/method.md#probe-ranking).
-- Placeholder (gkt/db/build.py): files = those files.
SELECT * FROM {{files}}
