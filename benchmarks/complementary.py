"""Benchmark: complementary-knowledge statistics at ImageNet scale (paper §3: 466 pairs of 301 models).

Generates cached predictions shaped like ImageNet val (50,000 samples, 1,000 classes, 301 models with
accuracies 60–88 % whose errors are correlated through a shared per-sample difficulty), then times
  * gkt's vectorised statistics (pair_stats + pairs/per_class tables + top-X % set sizes) for 466 pairs,
    in memory (reading the caches is I/O, not measured), median of 3 runs after one warm-up;
  * a straightforward per-pair version that builds dense [n, C] one-hot arrays of each pair's flips,
    on a few pairs, extrapolated to 466 (and checked to agree with gkt on those pairs);
  * the pair-level statistics of all 301 · 300 = 90,300 ordered pairs (all_pair_stats + the
    all_pairs table, docs/method.md#all-pairs), checked against pair_stats on the 466 pairs.

    python benchmarks/complementary.py [--dense-pairs 8]

Last lines: `complementary: 466 pairs in X.XX s; dense per-pair: Y.YY s; speed-up Z.Zx`, then
`all pairs: 90300 pairs in S.SS s`.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from gkt.complementary.pairs import PairSpec, sample_pairs
from gkt.complementary.stats import (
    TOP_X, all_pair_stats, all_pairs_table, pair_stats, pairs_table, per_class_table, top_x_sizes,
)

N, C, M, P = 50_000, 1_000, 301, 466
ERROR_CORRELATION = 0.5  # share of a model's correctness score that is the sample's shared difficulty
CONFUSER_SHARE = 0.6  # wrong models mostly agree on a sample's most confusable class


def synthetic_predictions(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """int16 predictions [M, N] and labels [N] with ImageNet's shape and accuracies 60–88 %."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(C), N // C)).astype(np.int16)
    difficulty = rng.standard_normal(N, dtype=np.float32)
    score = np.sqrt(ERROR_CORRELATION) * difficulty + np.sqrt(1 - ERROR_CORRELATION) * rng.standard_normal(
        (M, N), dtype=np.float32
    )
    acc = rng.uniform(0.60, 0.88, size=M)
    threshold = np.sort(score, axis=1)[np.arange(M), (acc * N).astype(int)]
    correct = score < threshold[:, None]  # the same easy samples are right for most models
    confuser = (labels + rng.integers(1, C, size=N)) % C
    other = (labels + rng.integers(1, C, size=(M, N))) % C
    wrong = np.where(rng.random((M, N)) < CONFUSER_SHARE, confuser, other)
    return np.where(correct, labels, wrong).astype(np.int16), labels


def dense_pair(pred_t: np.ndarray, pred_s: np.ndarray, labels: np.ndarray, xs=TOP_X) -> dict:
    """One pair the direct way: dense [n, C] one-hot masks of its flips, summed per class."""
    onehot = labels[:, None] == np.arange(C)[None, :]
    right_t, right_s = pred_t == labels, pred_s == labels
    pos_class = (onehot & (right_t & ~right_s)[:, None]).sum(axis=0)
    neg_class = (onehot & (~right_t & right_s)[:, None]).sum(axis=0)
    acc_t, acc_s = right_t.mean(), right_s.mean()
    c_exp = acc_t * acc_s + (1 - acc_t) * (1 - acc_s)
    q = pos_class / max(pos_class.sum(), 1)
    cum = np.cumsum(np.sort(pos_class)[::-1])
    return dict(
        acc_t=acc_t,
        acc_s=acc_s,
        kappa=((right_t == right_s).mean() - c_exp) / (1 - c_exp),
        pos_class=pos_class,
        neg_class=neg_class,
        pos_share=pos_class / onehot.sum(axis=0),
        entropy=-(q[q > 0] * np.log(q[q > 0])).sum(),
        k=[int(np.searchsorted(cum * 100, x * cum[-1]) + 1) for x in xs],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense-pairs", type=int, default=8, help="pairs timed with the dense version")
    args = parser.parse_args()

    t0 = time.perf_counter()
    preds, labels = synthetic_predictions()
    acc = (preds == labels).mean(axis=1)
    print(f"generated {M} models × {N} samples × {C} classes in {time.perf_counter() - t0:.1f} s "
          f"(accuracy {acc.min():.3f}–{acc.max():.3f})")

    models = [f"model_{i:03d}" for i in range(M)]
    names = sample_pairs(models, None, PairSpec(n=P, seed=0))
    index = {m: i for i, m in enumerate(models)}
    pairs = [(index[t], index[s]) for t, s in names]

    class_names = [f"class {c}" for c in range(C)]

    def full_statistics():
        stats = pair_stats(preds, labels, pairs, C)
        return stats, pairs_table(stats, names, None), per_class_table(stats, names, class_names), top_x_sizes(stats.pos_class)

    full_statistics()  # warm-up: the first call pays one-off lazy imports inside pyarrow
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        stats, pairs_tab, per_class_tab, k = full_statistics()
        times.append(time.perf_counter() - t0)
    t_fast = float(np.median(times))
    print(f"gkt: pair_stats + tables + top-X sets, 3 runs: {', '.join(f'{t:.3f}' for t in times)} s "
          f"({pairs_tab.num_rows} pair rows, {per_class_tab.num_rows} per-class rows); "
          f"mean rho_pos {stats.pos_flips.mean() / N:.4f}, mean kappa {stats.kappa.mean():.3f}")

    subset = np.random.default_rng(1).choice(P, size=min(args.dense_pairs, P), replace=False)
    t0 = time.perf_counter()
    dense = [dense_pair(preds[pairs[p][0]], preds[pairs[p][1]], labels) for p in subset]
    t_dense = (time.perf_counter() - t0) / len(subset) * P
    for p, d in zip(subset, dense):  # the speed-up only counts if both compute the same numbers
        assert np.array_equal(d["pos_class"], stats.pos_class[p]) and np.array_equal(d["neg_class"], stats.neg_class[p])
        assert np.allclose(d["pos_share"], per_class_tab.column("pos_share").to_numpy()[p * C:(p + 1) * C])
        assert np.allclose([d["acc_t"], d["acc_s"], d["kappa"], d["entropy"]],
                           [stats.acc_t[p], stats.acc_s[p], stats.kappa[p], stats.entropy[p]])
        assert d["k"] == k[p].tolist()
    print(f"dense per-pair: {len(subset)} pairs timed, results identical to gkt's")
    print(f"complementary: {P} pairs in {t_fast:.2f} s; dense per-pair: {t_dense:.2f} s; speed-up {t_dense / t_fast:.1f}x")

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        every = all_pair_stats(preds, labels)
        table = all_pairs_table(every, models)
        times.append(time.perf_counter() - t0)
    t, s = np.array(pairs).T  # the same numbers as the sampled study's statistics
    assert np.array_equal(every.pos_flips[t, s], stats.pos_flips) and np.array_equal(every.neg_flips[t, s], stats.neg_flips)
    assert np.allclose(every.kappa[t, s], stats.kappa)
    print(f"all pairs: {table.num_rows} pairs in {float(np.median(times)):.2f} s")


if __name__ == "__main__":
    main()
