"""Transfer metrics (docs/method.md#transfer-metrics) from prediction arrays (vectorised numpy, no torch).

Several teachers (multi-teacher transfer) are compared as their union: a positive flip is a sample
some teacher gets right and the student wrong, a negative flip one that every teacher gets wrong
and the student right, and `acc_teacher` is the best single teacher's accuracy. With one teacher
these are exactly the pair statistics' definitions (docs/method.md#positive-and-negative-flips).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from gkt.errors import GktError
from gkt.io import write_parquet

_F = pa.float64()
# The labels (gkt.transfer.vocabulary.run_keys): a multi-teacher run's `method` is multi_<mode> and its
# `objective` the method, as files were first written; the database reads them as method and mode.
METRICS_SCHEMA = pa.schema(
    [pa.field(n, pa.string()) for n in ("method", "objective", "teacher", "student")]
    + [pa.field("epoch", pa.int32())]
    + [pa.field(n, _F) for n in (
        "acc", "acc_student", "acc_teacher", "delta_transf", "gain", "loss", "delta_transf_se", "mcnemar_p",
        "rho_pos", "rho_neg",
        "delta_rho_pos", "delta_rho_neg", "dp_pos_to_teacher", "dp_neg_to_teacher", "seconds",
        "lr", "temperature", "lam")]
)
PER_CLASS_SCHEMA = pa.schema([
    pa.field("class", pa.int16()), pa.field("pos_flips", pa.int32()), pa.field("transferred", pa.int32()),
])


def _teacher_correct(labels: np.ndarray, teacher_preds: np.ndarray) -> np.ndarray:
    """[K, n] (or [n]) teacher predictions → [K, n] correctness."""
    return np.atleast_2d(teacher_preds) == labels[None, :]


def flips(student_correct: np.ndarray, teacher_correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of positive flips (teacher side right, student wrong) and negative flips."""
    any_t, all_wrong = teacher_correct.any(0), ~teacher_correct.any(0)
    return any_t & ~student_correct, all_wrong & student_correct


def transfer_metrics(labels: np.ndarray, pred_initial: np.ndarray, pred_after: np.ndarray,
                     teacher_preds: np.ndarray) -> dict[str, float]:
    """acc, acc_student, acc_teacher, delta_transf, gain, loss, delta_transf_se, mcnemar_p, rho_pos,
    rho_neg, delta_rho_pos, delta_rho_neg of the student after transfer (`pred_after`) against the initial student."""
    labels = np.asarray(labels)
    n = len(labels)
    if n == 0 or not (len(pred_initial) == len(pred_after) == n == np.atleast_2d(teacher_preds).shape[1]):
        raise GktError(f"prediction arrays must be non-empty and of equal length, got {n} labels "
                       "(transfer metrics): evaluate every model on the same split")
    c_init, c_after = pred_initial == labels, pred_after == labels
    c_teacher = _teacher_correct(labels, teacher_preds)
    gain = np.count_nonzero(c_after & ~c_init) / n
    loss = np.count_nonzero(c_init & ~c_after) / n
    pos_init, neg_init = flips(c_init, c_teacher)
    pos_after, neg_after = flips(c_after, c_teacher)
    rho_pos, rho_neg = np.count_nonzero(pos_after) / n, np.count_nonzero(neg_after) / n
    out = {
        "acc": np.count_nonzero(c_after) / n,
        "acc_student": np.count_nonzero(c_init) / n,
        "acc_teacher": float(c_teacher.mean(1).max()),
        # Defined through gain and loss so that Δtransf = gain − loss holds exactly in floating point.
        "delta_transf": gain - loss,
        "gain": gain,
        "loss": loss,
        **significance(np.count_nonzero(c_after & ~c_init), np.count_nonzero(c_init & ~c_after), n),
        "rho_pos": rho_pos,
        "rho_neg": rho_neg,
        "delta_rho_pos": rho_pos - np.count_nonzero(pos_init) / n,
        "delta_rho_neg": rho_neg - np.count_nonzero(neg_init) / n,
    }
    return {k: float(v) for k, v in out.items()}


def significance(gained: int, lost: int, n: int) -> dict[str, float]:
    """How sure a run's Δtransf is (docs/method.md#uncertainty): only the samples that changed carry
    information. `mcnemar_p`: exact two-sided McNemar test of gained vs lost samples (binomial,
    p = 1/2, on the gained + lost discordant pairs); `delta_transf_se`: the standard error of the
    paired difference of proportions, sqrt(gain + loss − (gain − loss)²) / sqrt(n).
    The binomial tail is summed in exact integers (correctly rounded at the one division), which
    also spares every transfer process the import of scipy.stats (about 2 s)."""
    gained, lost = int(gained), int(lost)  # Python integers: numpy's would overflow in the shift below
    m, k = gained + lost, min(gained, lost)
    term = tail = 1  # C(m, 0)
    for j in range(1, k + 1):
        term = term * (m - j + 1) // j
        tail += term
    p = min(1.0, 2 * tail / (1 << m))
    g, l = gained / n, lost / n
    return {"delta_transf_se": float(np.sqrt(max(g + l - (g - l) ** 2, 0.0) / n)), "mcnemar_p": p}


def per_class_transfer(labels: np.ndarray, pred_initial: np.ndarray, pred_after: np.ndarray,
                       teacher_preds: np.ndarray, num_classes: int) -> dict[str, np.ndarray]:
    """Per class: positive flips of the teacher(s) over the initial student, and how many of
    those samples the transferred student now gets right (numerator of the transfer rate)."""
    labels = np.asarray(labels)
    c_init, c_after = pred_initial == labels, pred_after == labels
    pos, _ = flips(c_init, _teacher_correct(labels, teacher_preds))
    return {
        "class": np.arange(num_classes, dtype=np.int16),
        "pos_flips": np.bincount(labels[pos], minlength=num_classes).astype(np.int32),
        "transferred": np.bincount(labels[pos & c_after], minlength=num_classes).astype(np.int32),
    }


def write_metrics(rows: list[dict], path: str | Path, meta: dict | None = None) -> Path:
    """metrics.parquet: one row per evaluation (docs/architecture.md, transfer tables), `meta` in its footer."""
    table = pa.Table.from_pylist(rows, schema=METRICS_SCHEMA)
    return write_parquet(table.replace_schema_metadata(meta) if meta else table, path)


def write_per_class(per_class: dict[str, np.ndarray], path: str | Path) -> Path:
    return write_parquet(pa.Table.from_pydict(per_class, schema=PER_CLASS_SCHEMA), path)
