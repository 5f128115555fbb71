"""Arrow schemas of the complementary-knowledge tables (docs/architecture.md, "Pair statistics tables").

Downstream stages (gkt.db views, figures) read these files by column name and type, so the writers
build their tables against these schemas instead of letting pyarrow infer types.
"""
from __future__ import annotations

import pyarrow as pa

PAIR_LIST_SCHEMA = pa.schema([
    pa.field("teacher", pa.string(), nullable=False),
    pa.field("student", pa.string(), nullable=False),
])

PAIRS_SCHEMA = pa.schema([
    pa.field("teacher", pa.string(), nullable=False),
    pa.field("student", pa.string(), nullable=False),
    pa.field("n", pa.int32(), nullable=False),
    pa.field("num_classes", pa.int32(), nullable=False),
    pa.field("acc_t", pa.float64(), nullable=False),
    pa.field("acc_s", pa.float64(), nullable=False),
    pa.field("delta_acc", pa.float64(), nullable=False),
    pa.field("rho_pos", pa.float64(), nullable=False),
    pa.field("rho_neg", pa.float64(), nullable=False),
    pa.field("kappa", pa.float64(), nullable=False),
    pa.field("entropy", pa.float64(), nullable=False),
    pa.field("entropy_norm", pa.float64(), nullable=False),
    pa.field("pos_flips", pa.int32(), nullable=False),
    pa.field("neg_flips", pa.int32(), nullable=False),
    pa.field("teacher_is_control", pa.bool_(), nullable=False),
    # Percentile bootstrap intervals over the val samples (docs/method.md#bootstrap-intervals-of-pair-statistics).
    pa.field("rho_pos_lo", pa.float64(), nullable=False),
    pa.field("rho_pos_hi", pa.float64(), nullable=False),
    pa.field("rho_neg_lo", pa.float64(), nullable=False),
    pa.field("rho_neg_hi", pa.float64(), nullable=False),
    pa.field("kappa_lo", pa.float64(), nullable=False),
    pa.field("kappa_hi", pa.float64(), nullable=False),
])

# Every ordered pair of the zoo (docs/method.md#all-pairs): the pair-level columns of PAIRS_SCHEMA
# that need no per-class counts, and whether the student is the control too.
ALL_PAIRS_SCHEMA = pa.schema(
    [PAIRS_SCHEMA.field(name) for name in ("teacher", "student", "n", "acc_t", "acc_s", "delta_acc", "rho_pos",
                                           "rho_neg", "kappa", "pos_flips", "neg_flips", "teacher_is_control")]
    + [pa.field("student_is_control", pa.bool_(), nullable=False)]
)

PER_CLASS_SCHEMA = pa.schema([
    pa.field("teacher", pa.string(), nullable=False),
    pa.field("student", pa.string(), nullable=False),
    pa.field("class", pa.int16(), nullable=False),
    pa.field("class_name", pa.string(), nullable=False),
    pa.field("n_class", pa.int32(), nullable=False),
    pa.field("pos_flips", pa.int32(), nullable=False),
    pa.field("neg_flips", pa.int32(), nullable=False),
    pa.field("pos_share", pa.float64()),  # NaN for a class without samples
    pa.field("neg_share", pa.float64()),
    pa.field("q", pa.float64(), nullable=False),
    pa.field("rank", pa.int32(), nullable=False),
])

SEMANTIC_SCHEMA = pa.schema([
    pa.field("teacher", pa.string(), nullable=False),
    pa.field("student", pa.string(), nullable=False),
    pa.field("x", pa.float64(), nullable=False),
    pa.field("k", pa.int32(), nullable=False),
    pa.field("sim_set", pa.float64()),  # NaN when the set has fewer than two classes
    pa.field("sim_all", pa.float64(), nullable=False),
    pa.field("rel_sim", pa.float64()),
    pa.field("encoder", pa.string(), nullable=False),
])

CLASS_EMBEDDINGS_SCHEMA = pa.schema([
    pa.field("class", pa.int16(), nullable=False),
    pa.field("class_name", pa.string(), nullable=False),
    pa.field("encoder", pa.string(), nullable=False),
    pa.field("embedding", pa.list_(pa.float32()), nullable=False),
])
