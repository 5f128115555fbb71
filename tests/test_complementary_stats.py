"""Pair statistics (docs/method.md#complementary-knowledge) against hand-computed small cases, and the
`gkt complementary` command."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import cohen_kappa_score

from gkt.cli import main
from gkt.complementary.schemas import PAIRS_SCHEMA, PER_CLASS_SCHEMA
from gkt.complementary.stats import (
    cohen_kappa, pair_stats, pairs_table, per_class_table, stack_predictions, top_x_sizes,
)
from gkt.errors import GktError

# 8 samples, 3 classes of 3, 2 and 3 samples.
LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2])
# Which samples each model gets right; a wrong prediction is the next class.
RIGHT = {
    "T": [1, 1, 0, 1, 0, 1, 1, 1],  # acc 6/8
    "S": [0, 0, 0, 1, 1, 0, 1, 0],  # acc 3/8
    "U": [0, 0, 0, 1, 1, 0, 1, 0],  # identical to S
    "W": [0, 0, 0, 0, 0, 0, 0, 0],  # always wrong
    "R": [1, 1, 1, 1, 1, 1, 1, 1],  # always right
}
NAMES = list(RIGHT)
PREDS = np.stack([np.where(RIGHT[m], LABELS, (LABELS + 1) % 3) for m in NAMES]).astype(np.int16)
CLASS_NAMES = ["zero", "one", "two"]


def stats_of(*pairs):
    return pair_stats(PREDS, LABELS, [(NAMES.index(t), NAMES.index(s)) for t, s in pairs], num_classes=3)


def test_hand_computed_pair_with_tied_classes_and_a_class_without_flips():
    st = stats_of(("T", "S"))
    # positive flips (T right, S wrong): samples 0, 1 (class 0) and 5, 7 (class 2); negative: sample 4 (class 1)
    assert st.pos_class.tolist() == [[2, 0, 2]]
    assert st.neg_class.tolist() == [[0, 1, 0]]
    assert (st.acc_t[0], st.acc_s[0]) == (0.75, 0.375)
    table = pairs_table(st, [("T", "S")], control=None).to_pylist()[0]
    assert table["delta_acc"] == 0.375 and table["rho_pos"] == 0.5 and table["rho_neg"] == 0.125
    assert (table["pos_flips"], table["neg_flips"]) == (4, 1)
    # c_obs = 3/8, c_exp = .75·.375 + .25·.625 = .4375, κ = (.375 − .4375) / .5625 = −1/9
    assert table["kappa"] == pytest.approx(-1 / 9)
    # q = (1/2, 0, 1/2)
    assert table["entropy"] == pytest.approx(math.log(2))
    assert table["entropy_norm"] == pytest.approx(math.log(2) / math.log(3))
    # classes 0 and 2 tie at 2 flips: the lower class index ranks first
    assert st.rank.tolist() == [[1, 3, 2]]
    rows = per_class_table(st, [("T", "S")], CLASS_NAMES).to_pylist()
    assert [r["pos_share"] for r in rows] == pytest.approx([2 / 3, 0, 2 / 3])
    assert [r["neg_share"] for r in rows] == pytest.approx([0, 1 / 2, 0])
    assert [r["q"] for r in rows] == pytest.approx([0.5, 0, 0.5])
    assert [r["n_class"] for r in rows] == [3, 2, 3]
    assert [r["class_name"] for r in rows] == CLASS_NAMES


def test_teacher_identical_to_student():
    st = stats_of(("U", "S"))
    assert st.pos_class.sum() == 0 and st.neg_class.sum() == 0
    assert st.kappa[0] == pytest.approx(1.0)  # every sample agrees and accuracy is not degenerate
    assert st.entropy[0] == 0.0 and not np.signbit(st.entropy[0])
    assert st.rank.tolist() == [[1, 2, 3]]  # all tied: class order
    assert top_x_sizes(st.pos_class).tolist() == [[0, 0, 0, 0, 0]]


def test_pair_without_positive_flips_has_zero_entropy_and_empty_top_sets():
    st = stats_of(("W", "S"))
    row = pairs_table(st, [("W", "S")], control="W").to_pylist()[0]
    assert (row["pos_flips"], row["neg_flips"]) == (0, 3)
    assert row["entropy"] == 0.0 and row["entropy_norm"] == 0.0
    assert row["teacher_is_control"] is True
    # c_obs = 5/8 (both wrong), c_exp = 0·3/8 + 1·5/8: no agreement beyond chance
    assert row["kappa"] == pytest.approx(0.0)
    assert st.q.tolist() == [[0.0, 0.0, 0.0]]
    assert top_x_sizes(st.pos_class).tolist() == [[0, 0, 0, 0, 0]]


def test_kappa_is_zero_when_expected_agreement_is_one():
    st = stats_of(("R", "R"), ("W", "W"))
    assert st.kappa.tolist() == [0.0, 0.0]


def test_kappa_matches_its_formula_and_sklearn():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, 400)
    preds = np.where(rng.random((4, 400)) < [[0.9], [0.7], [0.5], [0.2]], labels, rng.integers(0, 5, (4, 400)))
    pairs = [(t, s) for t in range(4) for s in range(4) if t != s]
    st = pair_stats(preds, labels, pairs, num_classes=5)
    for p, (t, s) in enumerate(pairs):
        rt, rs = preds[t] == labels, preds[s] == labels
        at, as_ = rt.mean(), rs.mean()
        c_obs, c_exp = (rt == rs).mean(), at * as_ + (1 - at) * (1 - as_)
        assert st.kappa[p] == pytest.approx((c_obs - c_exp) / (1 - c_exp))
        assert st.kappa[p] == pytest.approx(cohen_kappa_score(rt, rs))
    assert cohen_kappa(np.array([10]), np.array([10]), np.array([10]), 10).tolist() == [0.0]


def test_vectorised_counts_match_a_per_sample_loop_across_chunks():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 300)
    preds = np.where(rng.random((5, 300)) < 0.6, labels, rng.integers(0, 7, (5, 300)))
    pairs = [(t, s) for t in range(5) for s in range(5)]
    st = pair_stats(preds, labels, pairs, num_classes=7, chunk=3)  # several chunks, one partial
    for p, (t, s) in enumerate(pairs):
        pos, neg = np.zeros(7, int), np.zeros(7, int)
        for i, y in enumerate(labels):
            pos[y] += preds[t, i] == y and preds[s, i] != y
            neg[y] += preds[t, i] != y and preds[s, i] == y
        assert st.pos_class[p].tolist() == pos.tolist() and st.neg_class[p].tolist() == neg.tolist()


def test_class_without_samples_has_nan_shares():
    labels = np.array([0, 0, 1, 1])
    preds = np.array([[0, 0, 1, 1], [1, 0, 0, 1]])
    st = pair_stats(preds, labels, [(0, 1)], num_classes=3)
    assert st.pos_class.tolist() == [[1, 1, 0]] and st.n_class.tolist() == [2, 2, 0]
    rows = per_class_table(st, [("a", "b")], ["x", "y", "z"]).to_pylist()
    assert [r["pos_share"] for r in rows[:2]] == [0.5, 0.5] and math.isnan(rows[2]["pos_share"])
    assert rows[2]["rank"] == 3


def test_top_x_boundaries():
    pos = np.array([[2, 0, 2], [0, 1, 9], [5, 5, 0]])
    # pair 0: sorted 2, 2, 0 → cumulative 2, 4 of 4; pair 1: 9, 1 → 9, 10 of 10; pair 2: 5, 5 → 5, 10 of 10
    assert top_x_sizes(pos, [50]).tolist() == [[1], [1], [1]]  # exactly X % is enough
    assert top_x_sizes(pos, [50.01]).tolist() == [[2], [1], [2]]
    assert top_x_sizes(pos, [90, 90.01]).tolist() == [[2, 2], [1, 2], [2, 2]]
    assert top_x_sizes(pos, [100]).tolist() == [[2], [2], [2]]  # classes without flips never join
    assert top_x_sizes(pos, [1e-9]).tolist() == [[1], [1], [1]]


@pytest.mark.parametrize("bad", [[0], [-5], [100.5], [float("nan")], []])
def test_top_x_outside_range_is_refused(bad):
    with pytest.raises(GktError, match=r"\(0, 100\]"):
        top_x_sizes(np.array([[1, 2]]), bad)


def test_tables_follow_the_schemas():
    st = stats_of(("T", "S"), ("S", "T"))
    assert pairs_table(st, [("T", "S"), ("S", "T")], None).schema.equals(PAIRS_SCHEMA)
    per_class = per_class_table(st, [("T", "S"), ("S", "T")], CLASS_NAMES)
    assert per_class.schema.equals(PER_CLASS_SCHEMA)
    assert per_class.column("teacher").to_pylist() == ["T"] * 3 + ["S"] * 3
    assert per_class.column("class").to_pylist() == [0, 1, 2] * 2


def test_labels_outside_the_class_range_are_refused():
    with pytest.raises(GktError, match="another dataset"):
        pair_stats(PREDS, LABELS, [(0, 1)], num_classes=2)


def cache(sample, label, pred):
    return SimpleNamespace(sample=np.asarray(sample), label=np.asarray(label), pred=np.asarray(pred))


def test_stack_predictions_aligns_and_refuses_disagreeing_caches():
    preds, labels = stack_predictions({"a": cache([0, 1, 2], [0, 1, 1], [0, 1, 0]), "b": cache([0, 1, 2], [0, 1, 1], [1, 1, 1])})
    assert preds.dtype == np.int16 and preds.tolist() == [[0, 1, 0], [1, 1, 1]] and labels.tolist() == [0, 1, 1]
    with pytest.raises(GktError, match="sample orders"):
        stack_predictions({"a": cache([0, 1, 2], [0, 1, 1], [0, 1, 0]), "b": cache([1, 0, 2], [1, 0, 1], [0, 1, 0])})
    with pytest.raises(GktError, match="sample orders"):
        stack_predictions({"a": cache([0, 1, 2], [0, 1, 1], [0, 1, 0]), "b": cache([0, 1], [0, 1], [0, 1])})
    with pytest.raises(GktError, match="labels"):
        stack_predictions({"a": cache([0, 1, 2], [0, 1, 1], [0, 1, 0]), "b": cache([0, 1, 2], [1, 1, 0], [0, 1, 0])})
    with pytest.raises(GktError, match="no prediction caches"):
        stack_predictions({})


# ---- the command, on logits caches written to disk ------------------------------------------------

MNIST = '{"name": "mnist5k"}'


def write_cache(path, labels, right, seed):
    """A val cache of model `path.stem`, with its zoo record in `path.parent`/zoo (the caches' --zoo-dir)."""
    from dataclasses import asdict

    from gkt.io import write_json
    from gkt.logits.cache import write_logits
    from gkt.zoo.record import ModelRecord

    logits = np.random.default_rng(seed).normal(size=(len(labels), 10)).astype(np.float32)
    target = np.where(right, labels, (labels + 1) % 10)
    logits[np.arange(len(labels)), target] += 20
    write_logits(path, logits, labels, dict(model=path.stem, architecture="test", dataset="mnist5k", split="val",
                                            weights_hash=path.stem))
    record = ModelRecord(name=path.stem, arch="test", source="train", family="cnn", arch_family="test", params=1,
                         num_classes=10, dataset="mnist5k", weights_hash=path.stem)
    write_json(asdict(record), path.parent / "zoo" / f"{path.stem}.json")


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("logits")
    labels = np.repeat(np.arange(10), 3)
    rng = np.random.default_rng(0)
    for i, (name, acc) in enumerate([("a", 0.9), ("b", 0.6), ("ctrl", 0.1)]):
        write_cache(root / f"{name}.parquet", labels, rng.random(30) < acc, seed=i)
    return root, labels


def run_cli(*argv):
    return main([str(a) for a in argv])


def test_command_writes_both_tables(caches, tmp_path):
    root, labels = caches
    assert run_cli("pairs", "--models", "a", "b", "ctrl", "--control", "ctrl", "--out", tmp_path / "pl.parquet") == 0
    assert run_cli("complementary", "--dataset", MNIST, "--pair-list", tmp_path / "pl.parquet", "--logits-dir", root,
                   "--zoo-dir", root / "zoo",
                   "--out-pairs", tmp_path / "pairs.parquet", "--out-per-class", tmp_path / "per_class.parquet") == 0
    pairs = pq.read_table(tmp_path / "pairs.parquet")
    per_class = pq.read_table(tmp_path / "per_class.parquet")
    assert pairs.schema.remove_metadata().equals(PAIRS_SCHEMA)
    assert per_class.schema.remove_metadata().equals(PER_CLASS_SCHEMA)
    rows = pairs.to_pylist()
    assert [(r["teacher"], r["student"], r["teacher_is_control"]) for r in rows] == [
        ("a", "b", False), ("b", "a", False), ("ctrl", "a", True), ("ctrl", "b", True)
    ]
    assert per_class.num_rows == 4 * 10 and per_class.column("class_name")[1].as_py() == "one"
    from gkt.logits.cache import read_predictions

    a, b = (read_predictions(root / f"{m}.parquet") for m in "ab")
    assert rows[0]["pos_flips"] == int(((a.pred == labels) & (b.pred != labels)).sum())


def test_command_refuses_a_pair_without_cache(caches, tmp_path, capsys):
    root, _ = caches
    run_cli("pairs", "--models", "a", "missing", "--out", tmp_path / "pl.parquet")
    code = run_cli("complementary", "--dataset", MNIST, "--pair-list", tmp_path / "pl.parquet", "--logits-dir", root,
                   "--zoo-dir", root / "zoo",
                   "--out-pairs", tmp_path / "p.parquet", "--out-per-class", tmp_path / "c.parquet")
    err = capsys.readouterr().err
    assert code == 2 and "no zoo entry" in err and "missing.json" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p.parquet").exists()


def test_command_refuses_caches_in_another_sample_order(caches, tmp_path, capsys):
    root, labels = caches
    # The same model's predictions stored in another sample order: sample ids stay 0..n-1, labels move.
    shuffled = tmp_path / "logits"
    perm = np.random.default_rng(1).permutation(len(labels))
    write_cache(shuffled / "b.parquet", labels[perm], np.ones(len(labels), bool), seed=5)
    (shuffled / "a.parquet").symlink_to(root / "a.parquet")
    run_cli("pairs", "--models", "a", "b", "--out", tmp_path / "pl.parquet")
    code = run_cli("complementary", "--dataset", MNIST, "--pair-list", tmp_path / "pl.parquet", "--logits-dir", shuffled,
                   "--zoo-dir", root / "zoo",
                   "--out-pairs", tmp_path / "p.parquet", "--out-per-class", tmp_path / "c.parquet")
    assert code == 2 and "disagree on the labels" in capsys.readouterr().err


def test_command_refuses_caches_of_another_dataset(caches, tmp_path, capsys):
    root, _ = caches
    run_cli("pairs", "--models", "a", "b", "--out", tmp_path / "pl.parquet")
    code = run_cli("complementary", "--dataset", '{"name": "imagenet", "root": "/nonexistent"}', "--pair-list",
                   tmp_path / "pl.parquet", "--logits-dir", root, "--zoo-dir", root / "zoo",
                   "--out-pairs", tmp_path / "p.parquet", "--out-per-class", tmp_path / "c.parquet")
    assert code == 2 and "classes" in capsys.readouterr().err
