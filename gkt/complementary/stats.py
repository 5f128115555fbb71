"""Complementary knowledge of a teacher over a student (docs/method.md#complementary-knowledge), for many pairs at once.

Every statistic of a pair follows from per-class counts of three boolean vectors over the samples:
teacher right, student right, both right (positive flips of class c = right_t,c − both_c, negative
flips = right_s,c − both_c). Samples are sorted by class once, so a per-class count is one segmented
sum (`np.add.reduceat`) over a row; pairs are processed in chunks of rows (gather, logical and,
segmented sum), which bounds memory for `pairs: all` and never loops over samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from gkt.complementary.schemas import ALL_PAIRS_SCHEMA, PAIRS_SCHEMA, PER_CLASS_SCHEMA
from gkt.errors import GktError

TOP_X = (2.0, 5.0, 10.0, 20.0, 50.0)  # docs/method.md#top-x-classes
PAIR_CHUNK = 256  # pairs per gather; 256 × 50,000 samples is a 12.8 MB boolean block
# docs/method.md#bootstrap-intervals-of-pair-statistics
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
BOOTSTRAP_LEVEL = 0.95


def stack_predictions(caches: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Stack the `pred` columns of prediction caches (objects with `sample`, `label`, `pred`; keys are
    model names) into an int16 matrix [M, n] in the mapping's order, and return it with the labels [n].

    Flips are only meaningful between predictions of the same samples, so caches whose sample order
    or labels differ from the first one's are refused rather than compared position by position.
    """
    if not caches:
        raise GktError("no prediction caches to compare: the pair list names no models; rewrite it with `gkt pairs`")
    ref, first = next(iter(caches.items()))
    for name, cache in caches.items():
        if not np.array_equal(cache.sample, first.sample):
            raise GktError(
                f"logits caches of {name!r} and {ref!r} hold different samples or sample orders: "
                f"rebuild both with `gkt logits` on the same split"
            )
        if not np.array_equal(cache.label, first.label):
            raise GktError(
                f"logits caches of {name!r} and {ref!r} disagree on the labels: they come from different datasets "
                f"or splits; rebuild both with `gkt logits` on the same split"
            )
    preds = np.stack([np.asarray(cache.pred, dtype=np.int16) for cache in caches.values()])
    return preds, np.asarray(first.label)


def cohen_kappa(agree: np.ndarray, right_t: np.ndarray, right_s: np.ndarray, n: int) -> np.ndarray:
    """Error consistency (Geirhos et al. 2020) from counts: samples where both models are right or both
    wrong (`agree`) and each model's correct count.

    κ = (c_obs − c_exp) / (1 − c_exp) with c_obs = agree/n and c_exp = acc_t·acc_s + (1−acc_t)(1−acc_s),
    evaluated as (n·agree − e) / (n² − e) with e = n²·c_exp in integers, so that c_exp = 1 is detected
    exactly. c_exp = 1 happens only when both models are always right or both always wrong; agreement
    is then certain and says nothing beyond chance, so κ is defined as 0 there (not NaN, which would
    poison means over pairs).
    """
    agree, right_t, right_s = (np.asarray(a, dtype=np.int64) for a in (agree, right_t, right_s))
    e = right_t * right_s + (n - right_t) * (n - right_s)
    denom = n * n - e
    return np.where(denom > 0, (n * agree - e) / np.where(denom > 0, denom, 1), 0.0)


@dataclass(frozen=True)
class PairStats:
    """Statistics of P pairs over C classes; row p belongs to the p-th pair given to `pair_stats`."""

    n_class: np.ndarray  # [C] samples per class
    acc_t: np.ndarray  # [P]
    acc_s: np.ndarray  # [P]
    kappa: np.ndarray  # [P]
    pos_class: np.ndarray  # [P, C] int32: teacher right, student wrong
    neg_class: np.ndarray  # [P, C] int32: teacher wrong, student right

    @property
    def n(self) -> int:
        return int(self.n_class.sum())

    @property
    def num_classes(self) -> int:
        return len(self.n_class)

    @property
    def pos_flips(self) -> np.ndarray:
        return self.pos_class.sum(axis=1)

    @property
    def neg_flips(self) -> np.ndarray:
        return self.neg_class.sum(axis=1)

    @property
    def q(self) -> np.ndarray:
        """[P, C] distribution of positive flips over classes; all zero for a pair without any."""
        total = self.pos_flips[:, None]
        return self.pos_class / np.where(total > 0, total, 1)

    @property
    def entropy(self) -> np.ndarray:
        """H(q) in nats; 0 for a pair without positive flips (its q is all zero)."""
        q = self.q
        return 0.0 - (q * np.log(np.where(q > 0, q, 1.0))).sum(axis=1)  # 0.0 − …: no −0.0 for empty rows

    @property
    def entropy_norm(self) -> np.ndarray:
        return self.entropy / np.log(self.num_classes)

    @property
    def rank(self) -> np.ndarray:
        """[P, C] int32 rank of each class by positive flips (1 = most; ties by class index)."""
        order = np.argsort(-self.pos_class, axis=1, kind="stable")  # stable: equal counts keep class order
        rank = np.empty_like(order, dtype=np.int32)
        np.put_along_axis(rank, order, np.arange(1, self.num_classes + 1, dtype=np.int32)[None, :], axis=1)
        return rank


def pair_stats(
    preds: np.ndarray, labels: np.ndarray, pairs: Sequence[tuple[int, int]], num_classes: int, chunk: int = PAIR_CHUNK
) -> PairStats:
    """Statistics of (teacher, student) index pairs into the rows of `preds` [M, n] (labels [n])."""
    preds, labels = np.asarray(preds), np.asarray(labels)
    if num_classes < 2:
        raise GktError(f"{num_classes} class(es): flips and their entropy need at least two classes; check the dataset")
    for what, values in (("labels", labels), ("predictions", preds)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise GktError(
                f"{what} outside 0..{num_classes - 1}: the logits caches were made for another dataset than the "
                f"{num_classes} class names given; pass the caches' dataset"
            )
    pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    t, s = pairs[:, 0], pairs[:, 1]

    order = np.argsort(labels, kind="stable")
    n_class = np.bincount(labels, minlength=num_classes)
    present = np.flatnonzero(n_class)  # reduceat cannot express empty segments: they stay 0
    starts = (np.cumsum(n_class) - n_class)[present]
    correct = np.take(preds == labels, order, axis=1)  # [M, n], samples grouped by class

    def per_class(hits: np.ndarray) -> np.ndarray:
        out = np.zeros((len(hits), num_classes), dtype=np.int32)
        out[:, present] = np.add.reduceat(hits, starts, axis=1, dtype=np.int32)
        return out

    right = per_class(correct)  # [M, C]
    both = np.empty((len(pairs), num_classes), dtype=np.int32)
    for lo in tqdm(range(0, len(pairs), chunk), desc="pair statistics", unit="chunk", disable=None):
        both[lo:lo + chunk] = per_class(correct[t[lo:lo + chunk]] & correct[s[lo:lo + chunk]])

    n = len(labels)
    pos_class, neg_class = right[t] - both, right[s] - both
    right_t, right_s = right[t].sum(axis=1), right[s].sum(axis=1)
    agree = n - pos_class.sum(axis=1) - neg_class.sum(axis=1)
    return PairStats(
        n_class=n_class,
        acc_t=right_t / n,
        acc_s=right_s / n,
        kappa=cohen_kappa(agree, right_t, right_s, n),
        pos_class=pos_class,
        neg_class=neg_class,
    )


def bootstrap_intervals(stats: PairStats, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                        level: float = BOOTSTRAP_LEVEL) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Percentile bootstrap intervals over the val samples of each pair's ρ_pos, ρ_neg and κ:
    {statistic: (lo [P], hi [P])} (docs/method.md#bootstrap-intervals-of-pair-statistics).

    All three depend on a resample only through how many of its samples fall in each of the four
    cells (both right, positive flip, negative flip, both wrong), and the cell counts of n samples
    drawn with replacement are multinomial with the observed cell shares. So each resample is one
    4-cell multinomial draw per pair ([resamples, P, 4] counts at once) instead of n sample indices:
    the same bootstrap distribution, at a cost independent of n. One generator seeded with `seed`
    serves the whole table, pairs in table order.
    """
    if resamples < 1 or not 0.0 < level < 1.0:
        raise GktError(f"bootstrap with {resamples} resamples at level {level}: give resamples >= 1 and a level "
                       f"in (0, 1), e.g. 1000 and 0.95")
    n = stats.n
    pos, neg = stats.pos_flips.astype(np.int64), stats.neg_flips.astype(np.int64)
    right_t = np.rint(stats.acc_t * n).astype(np.int64)  # acc_t = right_t / n exactly
    both = right_t - pos
    cells = np.stack([both, pos, neg, n - both - pos - neg], axis=1)  # [P, 4]
    counts = np.random.default_rng(seed).multinomial(n, cells / max(n, 1), size=(resamples, len(cells)))
    b_both, b_pos, b_neg, b_wrong = (counts[..., i] for i in range(4))
    draws = {
        "rho_pos": b_pos / n,
        "rho_neg": b_neg / n,
        "kappa": cohen_kappa(b_both + b_wrong, b_both + b_pos, b_both + b_neg, n),
    }
    tail = (1.0 - level) / 2
    return {k: tuple(np.quantile(v, [tail, 1.0 - tail], axis=0)) for k, v in draws.items()}


@dataclass(frozen=True)
class AllPairs:
    """Pair-level counts of every ordered pair of M models: entry [t, s] has teacher t, student s."""

    n: int
    right: np.ndarray  # [M] samples each model gets right
    both: np.ndarray  # [M, M] samples both get right

    @property
    def pos_flips(self) -> np.ndarray:
        return self.right[:, None] - self.both  # teacher right, student wrong

    @property
    def neg_flips(self) -> np.ndarray:
        return self.right[None, :] - self.both

    @property
    def kappa(self) -> np.ndarray:
        return cohen_kappa(self.n - self.pos_flips - self.neg_flips, self.right[:, None], self.right[None, :], self.n)


def all_pair_stats(preds: np.ndarray, labels: np.ndarray) -> AllPairs:
    """Counts of all M·(M−1) ordered pairs of the rows of `preds` [M, n] at once.

    With `correct` the [M, n] 0/1 matrix of right predictions, the both-right counts of all pairs are
    one matrix product `correct · correctᵀ`, and every pair-level statistic (flips, accuracies, κ)
    follows from it and the row sums. The product runs in float32 BLAS, which is exact for counts
    below 2²⁴ (every partial sum is an integer below n); larger n use float64 (exact below 2⁵³).
    """
    preds, labels = np.asarray(preds), np.asarray(labels)
    n = len(labels)
    correct = (preds == labels).astype(np.float32 if n < 2**24 else np.float64)
    both = np.rint(correct @ correct.T).astype(np.int64)
    return AllPairs(n=n, right=np.rint(correct.sum(axis=1, dtype=np.float64)).astype(np.int64), both=both)


def check_top_x(xs: Sequence[float]) -> np.ndarray:
    xs = np.asarray(xs, dtype=np.float64)
    bad = xs[~((xs > 0) & (xs <= 100))]  # NaN fails the test too
    if bad.size or not xs.size:
        raise GktError(f"top-X percentages {bad.tolist() or 'none'} not in (0, 100]: give values like 2 5 10 20 50")
    return xs


def top_x_sizes(pos_class: np.ndarray, xs: Sequence[float] = TOP_X) -> np.ndarray:
    """[P, len(xs)] int32: the number k of classes in each pair's top-X % set, the smallest prefix of
    classes ranked by positive flips holding at least X % of the pair's positive flips. A pair without
    positive flips has an empty set (k = 0): no class carries complementary knowledge."""
    xs = check_top_x(xs)
    cum = np.cumsum(-np.sort(-np.asarray(pos_class), axis=1), axis=1)  # int64
    total = cum[:, -1:]
    # Integer counts against X % of the total: exact for the percentages in use, no rounding at the boundary.
    k = np.stack([(cum * 100 < x * total).sum(axis=1) + 1 for x in xs], axis=1).astype(np.int32)
    k[total[:, 0] == 0] = 0
    return k


def _repeat_names(names: Sequence[str], index: np.ndarray) -> pa.Array:
    # Arrow's take repeats strings in C++; a Python list of P·C names would dominate the run time.
    return pa.array(list(names), type=pa.string()).take(pa.array(index))


def _table(columns: dict, schema: pa.Schema) -> pa.Table:
    arrays = [columns[f.name] if isinstance(columns[f.name], pa.Array) else pa.array(columns[f.name], type=f.type)
              for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def pairs_table(stats: PairStats, pairs: Sequence[tuple[str, str]], control: str | None,
                resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> pa.Table:
    """pairs.parquet: one row per (teacher, student), with bootstrap intervals of ρ_pos, ρ_neg and κ."""
    teachers = [t for t, _ in pairs]
    P = len(teachers)
    ci = bootstrap_intervals(stats, resamples, seed)
    columns = {
        "teacher": teachers,
        "student": [s for _, s in pairs],
        "n": np.full(P, stats.n, dtype=np.int32),
        "num_classes": np.full(P, stats.num_classes, dtype=np.int32),
        "acc_t": stats.acc_t,
        "acc_s": stats.acc_s,
        "delta_acc": stats.acc_t - stats.acc_s,
        "rho_pos": stats.pos_flips / stats.n,
        "rho_neg": stats.neg_flips / stats.n,
        "kappa": stats.kappa,
        "entropy": stats.entropy,
        "entropy_norm": stats.entropy_norm,
        "pos_flips": stats.pos_flips.astype(np.int32),
        "neg_flips": stats.neg_flips.astype(np.int32),
        "teacher_is_control": np.array([t == control for t in teachers], dtype=bool),
        **{f"{k}_{end}": v for k, (lo, hi) in ci.items() for end, v in (("lo", lo), ("hi", hi))},
    }
    return _table(columns, PAIRS_SCHEMA)


def all_pairs_table(stats: AllPairs, models: Sequence[str], controls: Collection[str] = ()) -> pa.Table:
    """all_pairs.parquet: one row per ordered pair of distinct models, teacher-major in `models` order;
    `controls` are the random-init models."""
    M = len(models)
    t, s = np.nonzero(~np.eye(M, dtype=bool))
    n, right = stats.n, stats.right
    pos, neg = stats.pos_flips[t, s], stats.neg_flips[t, s]
    is_control = np.array([m in controls for m in models], dtype=bool)
    columns = {
        "teacher": _repeat_names(models, t),
        "student": _repeat_names(models, s),
        "n": np.full(len(t), n, dtype=np.int32),
        "acc_t": right[t] / n,
        "acc_s": right[s] / n,
        "delta_acc": right[t] / n - right[s] / n,  # as pairs_table computes it: the two tables agree exactly
        "rho_pos": pos / n,
        "rho_neg": neg / n,
        "kappa": stats.kappa[t, s],
        "pos_flips": pos.astype(np.int32),
        "neg_flips": neg.astype(np.int32),
        "teacher_is_control": is_control[t],
        "student_is_control": is_control[s],
    }
    return _table(columns, ALL_PAIRS_SCHEMA)


def per_class_table(stats: PairStats, pairs: Sequence[tuple[str, str]], class_names: Sequence[str]) -> pa.Table:
    """per_class.parquet: one row per pair and class, pair-major, classes ascending."""
    P, C = stats.pos_class.shape
    if len(class_names) != C:
        raise GktError(f"{len(class_names)} class names for {C} classes: pass the class names of the caches' dataset")
    pair_of_row, class_of_row = np.repeat(np.arange(P), C), np.tile(np.arange(C), P)
    # A class without samples has no share of them: NaN rather than a made-up 0.
    n_class = np.where(stats.n_class > 0, stats.n_class, np.nan)
    columns = {
        "teacher": _repeat_names([t for t, _ in pairs], pair_of_row),
        "student": _repeat_names([s for _, s in pairs], pair_of_row),
        "class": class_of_row.astype(np.int16),
        "class_name": _repeat_names(class_names, class_of_row),
        "n_class": np.tile(stats.n_class.astype(np.int32), P),
        "pos_flips": stats.pos_class.ravel(),
        "neg_flips": stats.neg_class.ravel(),
        "pos_share": (stats.pos_class / n_class).ravel(),
        "neg_share": (stats.neg_class / n_class).ravel(),
        "q": stats.q.ravel(),
        "rank": stats.rank.ravel(),
    }
    return _table(columns, PER_CLASS_SCHEMA)
