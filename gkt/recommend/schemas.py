"""Arrow schemas of the recommend stage's tables (docs/method.md#teacher-ranking); the results database
reads them by column name and type (gkt.db.build)."""
from __future__ import annotations

import pyarrow as pa

_F = pa.float64()

RANKING_SCHEMA = pa.schema([
    pa.field("student", pa.string(), nullable=False),
    pa.field("teacher", pa.string(), nullable=False),
    pa.field("rank", pa.int32()),  # 1 = recommended first; NULL: not scored (a feature is missing)
    pa.field("score", _F),
    pa.field("predicted_delta_transf", _F),  # NULL when ranked by the rule (too few runs to fit)
    pa.field("scorer", pa.string(), nullable=False),  # fit | rho_pos
    pa.field("measured_delta_transf", _F),  # the pair's KL+DP run, NULL without one
    pa.field("probe_delta_transf", _F),  # the pair's probe (gkt.recommend.probe), NULL without one
    pa.field("rho_pos", _F, nullable=False),
    pa.field("rho_neg", _F, nullable=False),
    pa.field("kappa", _F, nullable=False),
    pa.field("delta_acc", _F, nullable=False),
    pa.field("dp_route", _F),  # NULL without both train-split caches
    pa.field("acc_t", _F, nullable=False),
    pa.field("acc_s", _F, nullable=False),
    pa.field("teacher_family", pa.string()),
    pa.field("teacher_params", pa.int64()),
    pa.field("teacher_is_control", pa.bool_(), nullable=False),
    pa.field("fit_runs", pa.int32(), nullable=False),
    pa.field("fit_students", pa.int32(), nullable=False),
    pa.field("intercept", _F),
    pa.field("coef_rho_pos", _F),
    pa.field("coef_rho_neg", _F),
    pa.field("coef_dp_route", _F),
])

VALIDATION_SCHEMA = pa.schema([
    pa.field("student", pa.string()),  # NULL: the row over all validated students
    pa.field("ranker", pa.string(), nullable=False),  # gkt.recommend.model.RANKERS
    pa.field("students", pa.int32(), nullable=False),
    pa.field("teachers", pa.int32(), nullable=False),
    pa.field("spearman", _F),
    pa.field("top1_hit", _F, nullable=False),
    pa.field("regret", _F, nullable=False),
    pa.field("picked_teacher", pa.string()),
    pa.field("picked_delta_transf", _F),
    pa.field("best_teacher", pa.string()),
    pa.field("best_delta_transf", _F),
])

IMPROVE_SCHEMA = pa.schema([
    pa.field("student", pa.string(), nullable=False),
    pa.field("k", pa.int32(), nullable=False),
    pa.field("ranker", pa.string(), nullable=False),  # whose top K: gkt.recommend.jobs.IMPROVE_RANKERS
    pa.field("teachers", pa.string(), nullable=False),  # ranked order, joined by '+'
    pa.field("order_used", pa.string(), nullable=False),  # sequential order (weakest first), joined by '+'
    pa.field("sequential_delta_transf", _F, nullable=False),
    pa.field("top_teacher", pa.string(), nullable=False),
    pa.field("top_single_delta_transf", _F, nullable=False),
    pa.field("top_single_run", pa.string(), nullable=False),  # folder of that single run
    pa.field("gain_over_top_single", _F, nullable=False),
    pa.field("best_single_delta_transf", _F),  # best measured single run among the K teachers
    pa.field("epochs_per_teacher", pa.int32(), nullable=False),
])

PROBE_SCHEMA = pa.schema([  # one row per probe of a student (gkt.recommend.probe)
    pa.field("student", pa.string(), nullable=False),
    pa.field("teacher", pa.string(), nullable=False),
    pa.field("probe_delta_transf", _F, nullable=False),  # the score: accuracy after - before, on the slice
    pa.field("probe_delta_transf_se", _F, nullable=False),  # its standard error (paired, from the flips)
    pa.field("gain", _F, nullable=False),  # share of the slice the probe turned right
    pa.field("loss", _F, nullable=False),  # share it turned wrong
    pa.field("acc_before", _F, nullable=False),
    pa.field("acc_after", _F, nullable=False),
    pa.field("epochs", pa.int32(), nullable=False),  # the probe's
    pa.field("run_epochs", pa.int32(), nullable=False),  # the full KL+DP run's
    pa.field("transfer_images", pa.int32(), nullable=False),
    pa.field("holdout_images", pa.int32(), nullable=False),
    pa.field("seconds", _F, nullable=False),  # the probe's own (setup, training, reading), when it was run
    pa.field("folder", pa.string(), nullable=False),  # its metrics.parquet's folder, relative to the results folder
])
