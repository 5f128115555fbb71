"""The recommend stage (docs/method.md#teacher-ranking): all-pairs statistics against a direct per-pair
computation, bootstrap intervals, the leave-one-student-out fit, and the recommend / improve commands on
real results folders (tests/helpers.py make_results; a tiny real zoo for the transfers of `gkt improve`)."""
from __future__ import annotations

import json
import os

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
import torch
from sklearn.metrics import cohen_kappa_score

from gkt.cli import main
from gkt.complementary.schemas import ALL_PAIRS_SCHEMA
from gkt.complementary.stats import (
    all_pair_stats, all_pairs_table, bootstrap_intervals, pair_stats, pairs_table,
)
from gkt.errors import GktError
from gkt.recommend.jobs import improve_jobs, ranks
from gkt.recommend.model import FEATURES, rank_teachers, validate
from tests.helpers import tiny_zoo

torch.set_num_threads(1)


def _predictions(rng, m, n, classes=5):
    labels = rng.integers(0, classes, n)
    acc = rng.uniform(0.3, 0.9, m)
    right = rng.random((m, n)) < acc[:, None]
    wrong = (labels + rng.integers(1, classes, (m, n))) % classes
    return np.where(right, labels, wrong).astype(np.int16), labels


# ----------------------------------------------------------------------------------------- all pairs
def test_all_pairs_equal_a_direct_per_pair_computation():
    rng = np.random.default_rng(0)
    preds, labels = _predictions(rng, 6, 300)
    every = all_pair_stats(preds, labels)
    pairs = [(t, s) for t in range(6) for s in range(6) if t != s]
    models = [f"m{i}" for i in range(6)]
    table = all_pairs_table(every, models, {"m5"})
    assert table.schema.equals(ALL_PAIRS_SCHEMA) and table.num_rows == 30
    rows = {(r["teacher"], r["student"]): r for r in table.to_pylist()}
    direct = pairs_table(pair_stats(preds, labels, pairs, 5), [(models[t], models[s]) for t, s in pairs], "m5")
    for ref in direct.to_pylist():
        row = rows[(ref["teacher"], ref["student"])]
        for col in ("n", "acc_t", "acc_s", "delta_acc", "rho_pos", "rho_neg", "pos_flips", "neg_flips",
                    "teacher_is_control"):
            assert row[col] == ref[col], col
        assert row["kappa"] == pytest.approx(ref["kappa"])
    for t, s in pairs:  # and against first principles: flips by hand, κ by scikit-learn
        right_t, right_s = preds[t] == labels, preds[s] == labels
        row = rows[(models[t], models[s])]
        assert row["pos_flips"] == np.sum(right_t & ~right_s) and row["neg_flips"] == np.sum(~right_t & right_s)
        assert row["kappa"] == pytest.approx(cohen_kappa_score(right_t, right_s))
        assert row["student_is_control"] == (s == 5)


def test_all_pairs_command_writes_every_ordered_pair(results_dir, tmp_path, gkt):
    out = tmp_path / "all_pairs.parquet"
    assert gkt("all-pairs", "--results", str(results_dir), "--out", str(out)).returncode == 0
    table = pq.read_table(out)
    models = sorted(p.stem for p in (results_dir / "logits" / "val").glob("*.parquet"))
    assert table.num_rows == len(models) * (len(models) - 1) and table.schema.equals(ALL_PAIRS_SCHEMA)
    # The sampled study's pairs are a subset with the same numbers.
    study = pl.read_parquet(results_dir / "complementary" / "pairs.parquet")
    joined = study.join(pl.from_arrow(table), on=["teacher", "student"], suffix="_all")
    assert joined.height == study.height
    assert (joined["rho_pos"] == joined["rho_pos_all"]).all() and (joined["kappa"] - joined["kappa_all"]).abs().max() < 1e-12
    bad = gkt("all-pairs", "--results", str(results_dir), "--models", "cnn_s", "nope", "--out", str(out))
    assert bad.returncode == 2 and "no zoo record" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------ bootstrap
def _stats(n, seed=0):
    """Two models with fixed rates (acc 0.8 and 0.6, correlated) at n samples, plus an identical pair."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    u = rng.random(n)
    right_t, right_s = u < 0.8, (u < 0.5) | (u > 0.9)
    preds = np.stack([np.where(r, labels, (labels + 1) % 4) for r in (right_t, right_s)]).astype(np.int16)
    return pair_stats(preds, labels, [(0, 1), (1, 0), (0, 0)], 4), preds, labels


def test_bootstrap_intervals_contain_the_estimate_and_shrink_with_more_samples():
    small, _, _ = _stats(500)
    large, _, _ = _stats(20_000)
    widths = {}
    for name, st in (("small", small), ("large", large)):
        ci = bootstrap_intervals(st)
        point = {"rho_pos": st.pos_flips / st.n, "rho_neg": st.neg_flips / st.n, "kappa": st.kappa}
        for k, (lo, hi) in ci.items():
            assert np.all(lo <= point[k] + 1e-12) and np.all(point[k] <= hi + 1e-12), (name, k)
        assert ci["rho_pos"][0][2] == ci["rho_pos"][1][2] == 0.0  # a model against itself: no flips, no spread
        widths[name] = {k: (hi - lo)[:2] for k, (lo, hi) in ci.items()}
    for k in ("rho_pos", "rho_neg", "kappa"):  # 40x the samples: about 1/sqrt(40) of the width
        ratio = widths["large"][k] / widths["small"][k]
        assert np.all((ratio > 0.08) & (ratio < 0.3)), (k, ratio)
    again = bootstrap_intervals(small)
    assert all(np.array_equal(a, b) for k in again for a, b in zip(again[k], bootstrap_intervals(small)[k]))  # seeded
    assert not np.array_equal(bootstrap_intervals(small, seed=1)["kappa"][0], again["kappa"][0])
    with pytest.raises(GktError, match="resamples"):
        bootstrap_intervals(small, resamples=0)


def test_bootstrap_equals_resampling_the_samples():
    """The 4-cell multinomial draw is the bootstrap over samples: same quantiles up to Monte Carlo error."""
    st, preds, labels = _stats(400)
    ci = bootstrap_intervals(st, resamples=4000)
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 400, (4000, 400))
    right_t, right_s = preds[0][idx] == labels[idx], preds[1][idx] == labels[idx]
    rho_pos = (right_t & ~right_s).mean(1)
    kappa = np.array([cohen_kappa_score(a, b) for a, b in zip(right_t[:800], right_s[:800])])
    assert np.quantile(rho_pos, [0.025, 0.975]) == pytest.approx([ci["rho_pos"][0][0], ci["rho_pos"][1][0]], abs=0.006)
    assert np.quantile(kappa, [0.025, 0.975]) == pytest.approx([ci["kappa"][0][0], ci["kappa"][1][0]], abs=0.03)


def test_pairs_parquet_carries_the_intervals(results_dir):
    pairs = pl.read_parquet(results_dir / "complementary" / "pairs.parquet")
    for k in ("rho_pos", "rho_neg", "kappa"):
        assert (pairs[f"{k}_lo"] <= pairs[k] + 1e-12).all() and (pairs[k] <= pairs[f"{k}_hi"] + 1e-12).all()
    assert (pairs["rho_pos_hi"] > pairs["rho_pos_lo"]).any()


# -------------------------------------------------------------------------------- the LOSO ranking fit
def _frames(seed=0, students=4, teachers=5):
    rng = np.random.default_rng(seed)
    rows = [{"student": f"s{i}", "teacher": f"t{j}", "rho_pos": rng.uniform(0.02, 0.3), "rho_neg": rng.uniform(0, 0.2),
             "dp_route": rng.uniform(0.1, 0.9), "kappa": 0.3, "delta_acc": 0.0, "acc_t": rng.uniform(0.5, 0.9),
             "acc_s": 0.7, "teacher_family": "cnn", "teacher_params": 1000, "teacher_is_control": False}
            for i in range(students) for j in range(teachers)]
    features = pl.DataFrame(rows)
    measured = features.select("teacher", "student", delta_transf=0.05 * pl.col("rho_pos") - 0.02 * pl.col("rho_neg")
                               + pl.Series(rng.normal(0, 0.001, features.height)))
    return features, measured


def test_leave_one_student_out_fit_never_sees_the_held_out_students_runs():
    features, measured = _frames()
    base = rank_teachers(features, measured)
    # Scramble s0's measured runs: its own ranking must not move; the others' fits see the new values.
    scrambled = measured.with_columns(
        delta_transf=pl.when(pl.col("student") == "s0").then(pl.col("delta_transf") * -50 + 1).otherwise(pl.col("delta_transf")))
    after = rank_teachers(features, scrambled)
    cols = ["student", "teacher", "rank", "score", "intercept", *[f"coef_{c}" for c in FEATURES]]
    assert after.filter(pl.col("student") == "s0").select(cols).equals(base.filter(pl.col("student") == "s0").select(cols))
    assert not after.filter(pl.col("student") == "s1")["score"].equals(base.filter(pl.col("student") == "s1")["score"])
    assert set(base["fit_runs"]) == {15} and set(base["fit_students"]) == {3}  # 3 other students x 5 teachers
    # The fit recovers the signs of the generating model, and the prediction is its formula.
    r = base.row(0, named=True)
    assert r["coef_rho_pos"] > 0 > r["coef_rho_neg"]
    assert r["predicted_delta_transf"] == pytest.approx(
        r["intercept"] + sum(r[f"coef_{c}"] * r[c] for c in FEATURES))
    assert base.filter(pl.col("student") == "s0")["rank"].to_list() == [1, 2, 3, 4, 5]
    joined = base.join(measured, on=["teacher", "student"])
    assert joined.height == base.height and (joined["measured_delta_transf"] == joined["delta_transf"]).all()


def test_too_few_runs_fall_back_to_rho_pos_and_leave_nothing_to_validate():
    features, measured = _frames(students=2, teachers=3)  # other student: 2 degrees of freedom < 4
    ranked = rank_teachers(features, measured)
    assert set(ranked["scorer"]) == {"rho_pos"} and ranked["predicted_delta_transf"].is_null().all()
    top = ranked.filter(pl.col("rank") == 1)
    assert top["rho_pos"].to_list() == features.group_by("student").agg(pl.col("rho_pos").max()).sort("student")["rho_pos"].to_list()
    assert validate(ranked).is_empty()


def test_validation_baselines_by_hand():
    features, measured = _frames(seed=3)
    v = validate(rank_teachers(features, measured))
    assert v.height == 4 * 4 + 4 and set(v["ranker"]) == {"model", "random", "most_accurate", "highest_rho_pos"}
    runs = features.join(measured, on=["teacher", "student"]).filter(pl.col("student") == "s2")
    best = runs["delta_transf"].max()
    rand = v.filter((pl.col("student") == "s2") & (pl.col("ranker") == "random")).row(0, named=True)
    assert rand["regret"] == pytest.approx(best - runs["delta_transf"].mean()) and rand["spearman"] == 0
    acc = v.filter((pl.col("student") == "s2") & (pl.col("ranker") == "most_accurate")).row(0, named=True)
    pick = runs.sort("acc_t").row(-1, named=True)
    assert acc["picked_teacher"] == pick["teacher"] and acc["regret"] == pytest.approx(best - pick["delta_transf"])
    assert acc["top1_hit"] == float(pick["delta_transf"] == best)
    overall = v.filter(pl.col("student").is_null() & (pl.col("ranker") == "model")).row(0, named=True)
    per = v.filter(pl.col("student").is_not_null() & (pl.col("ranker") == "model"))
    assert overall["students"] == 4 and overall["regret"] == pytest.approx(per["regret"].mean())


# ------------------------------------------------------------------------------------------- commands
def test_recommend_command_on_a_results_folder(results_dir, tmp_path, gkt):
    out = gkt("recommend", "--results", str(results_dir), "--student", "vit_s", "--top", "3")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("vit_s (val top-1") and "fitted within students on 24 KL+DP runs of 4 other" in lines[0]
    assert lines[-1] == "(3 rows)"
    ranking = pl.read_parquet(results_dir / "recommend" / "ranking.parquet")
    mine = ranking.filter(pl.col("student") == "vit_s").sort("rank")
    assert [ln.split()[1] for ln in lines[3:6]] == mine["teacher"].head(3).to_list()
    # The pipeline's ranking file holds every trained student, its fit never on the student's own runs.
    assert set(ranking["student"]) == {"cnn_s", "cnn_m", "cnn_l", "vit_s", "vit_l", "mixer", "hybrid"}
    measured = {"cnn_s", "vit_s", "cnn_l", "vit_l", "mixer"}
    fit_runs = dict(ranking.group_by("student").agg(pl.col("fit_runs").first()).iter_rows())
    assert all(fit_runs[s] == (24 if s in measured else 30) for s in fit_runs)
    # The DP routing share as defined: p_label of the teacher above the frozen student's on the train split.
    from gkt.logits.cache import read_predictions

    t, s = (read_predictions(results_dir / "logits" / "train" / f"{m}.parquet") for m in ("cnn_l", "vit_s"))
    assert mine.filter(pl.col("teacher") == "cnn_l")["dp_route"][0] == pytest.approx(np.mean(t.p_label > s.p_label))
    validation = pl.read_parquet(results_dir / "recommend" / "validation.parquet")
    assert validation.filter(pl.col("student").is_null())["students"].to_list() == [5] * 5  # with the probe row

    bad = gkt("recommend", "--results", str(results_dir), "--student", "nope")
    assert bad.returncode == 2 and "student 'nope' is not a zoo model" in bad.stderr
    assert gkt("recommend", "--results", str(tmp_path), "--student", "vit_s").returncode == 2


def test_improve_config_entries_are_checked():
    zoo = [{"name": n} for n in ("a", "b", "c")] + [{"name": "ctl", "source": "random"}]
    kl_dp = {"runs": [{"methods": ["kl", "kl_dp"], "students": ["a"], "teachers": ["b"]}]}
    assert improve_jobs({"zoo": zoo, "transfer": kl_dp, "recommend": {"improve": [{"student": "a", "teachers": 2}] * 2}}) \
        == [("a", 2, "model")]
    assert improve_jobs({"zoo": zoo}) == []
    with pytest.raises(GktError, match=r"recommend.improve\[0\].student = 'ctl'"):
        improve_jobs({"zoo": zoo, "transfer": kl_dp, "recommend": {"improve": [{"student": "ctl", "teachers": 2}]}})
    with pytest.raises(GktError, match="teachers = 3: give 2 to 2"):
        improve_jobs({"zoo": zoo, "transfer": kl_dp, "recommend": {"improve": [{"student": "a", "teachers": 3}]}})
    with pytest.raises(GktError, match="1 trained model.s. besides 'b'"):
        improve_jobs({"zoo": zoo[1:], "transfer": kl_dp, "recommend": {"improve": [{"student": "b", "teachers": 2}]}})
    # The ranking is only fitted (and the train caches only read for it) with KL+DP runs in the config.
    no_dp = {"runs": [{"methods": ["kl"], "students": ["a"], "teachers": ["b"]}]}
    assert ranks({"transfer": kl_dp}) and not ranks({"transfer": no_dp}) and not ranks({})
    with pytest.raises(GktError, match="fitted to KL.DP runs and transfer.runs has none"):
        improve_jobs({"zoo": zoo, "transfer": no_dp, "recommend": {"improve": [{"student": "a", "teachers": 2}]}})


TINY = {"arch": "resnet10t", "kwargs": {"channels": [8, 8, 16, 16]}, "recipe": {"epochs": 0}}
SETTINGS = {"epochs": 1, "batch_size": 64, "lr": 0.01, "subset_per_class": 10}


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory, mnist):
    """Four untrained tiny CNNs made as trained zoo models (0 epochs), with both logits caches."""
    return tiny_zoo(tmp_path_factory.mktemp("tiny") / "results" / "mnist5k", mnist, ("s", "t1", "t2", "t3"), **TINY)


def _improve(results, out, settings=SETTINGS):
    return main(["improve", "--dataset", '{"name": "mnist5k"}', "--results", str(results), "--student", "s",
                 "--teachers", "2", "--settings", json.dumps(settings), "--out", str(out), "--threads", "1"])


def test_improve_runs_sequential_transfer_from_the_top_ranked_teachers(tiny_results, tmp_path, capsys):
    assert main(["recommend", "--results", str(tiny_results), "--student", "s", "--settings", json.dumps(SETTINGS)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "score = rho_pos (too few KL+DP runs" in printed[0]  # no KL+DP runs yet: the rule ranks
    top2 = [ln.split()[1] for ln in printed[3:5]]

    # The top teacher's single run exists in the pipeline's layout with these settings: it is reused.
    single = tiny_results / "transfer" / "kl_dp" / f"{top2[0]}__s"
    assert main(["transfer", "--dataset", '{"name": "mnist5k"}', "--zoo-dir", str(tiny_results / "zoo"),
                 "--logits-dir", str(tiny_results / "logits"), "--method", "kl_dp", "--teacher", top2[0],
                 "--student", "s", "--settings", json.dumps(SETTINGS), "--out", str(single), "--threads", "1"]) == 0
    out = tmp_path / "improve"
    assert _improve(tiny_results, out) == 0
    assert "sequential KL+DP from its top 2 teachers" in capsys.readouterr().out
    row = pq.read_table(out / "improve.parquet").to_pylist()[0]
    assert row["teachers"] == "+".join(top2) and row["top_teacher"] == top2[0] and row["k"] == 2
    assert row["top_single_run"] == f"transfer/kl_dp/{top2[0]}__s" and not (out / "single").exists()
    seq = pq.read_table(out / "sequential" / "metrics.parquet").to_pylist()
    assert seq[-1]["epoch"] == 2 and row["sequential_delta_transf"] == seq[-1]["delta_transf"]
    assert {r["method"] for r in seq} == {"multi_sequential"} and {r["objective"] for r in seq} == {"kl_dp"}
    assert row["top_single_delta_transf"] == pq.read_table(single / "metrics.parquet").to_pylist()[-1]["delta_transf"]
    assert row["gain_over_top_single"] == pytest.approx(row["sequential_delta_transf"] - row["top_single_delta_transf"])

    # Another budget: the measured run does not compare, so the single run is made beside the sequential one.
    other = tmp_path / "improve_lr"
    assert _improve(tiny_results, other, {**SETTINGS, "lr": 0.02}) == 0
    row = pq.read_table(other / "improve.parquet").to_pylist()[0]
    assert row["top_single_run"] == os.path.relpath(other / "single" / top2[0], tiny_results)
    assert (other / "single" / top2[0] / "metrics.parquet").exists()

    assert main(["improve", "--dataset", '{"name": "mnist5k"}', "--results", str(tiny_results), "--student", "s",
                 "--teachers", "1", "--out", str(tmp_path / "x")]) == 2
    assert "two or more teachers" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- probes
def test_probe_slice_is_train_images_the_probe_does_not_train_on(mnist):
    from gkt.recommend.probe import probe_rows
    from gkt.transfer.settings import TransferConfig

    labels = mnist.labels("train")
    # Room outside the transfer set: the slice comes from there, the transfer set stays the run's.
    cfg = TransferConfig("kl_dp", subset_per_class=10, seed=3)
    train, held, taken = probe_rows(mnist, cfg, 7)
    from gkt.data.base import stratified_indices

    assert not taken and np.array_equal(train, stratified_indices(labels, 10, 3))
    assert not set(train) & set(held) and np.bincount(labels[held]).tolist() == [7] * 10
    # The whole split as transfer set: the slice is taken out of it.
    train, held, taken = probe_rows(mnist, TransferConfig("kl_dp", subset_per_class=None), 20)
    assert taken and not set(train) & set(held) and len(train) + len(held) == len(labels)
    with pytest.raises(GktError, match="lower recommend.probe.holdout_per_class"):
        probe_rows(mnist, TransferConfig("kl_dp", subset_per_class=None), 400)


def test_validation_has_a_probe_row_where_every_measured_teacher_was_probed():
    features, measured = _frames(seed=5)
    probes = measured.filter(~((pl.col("student") == "s3") & (pl.col("teacher") == "t0"))).select(
        "teacher", "student", probe_delta_transf=pl.col("delta_transf") * 0.5 + 0.001)  # a probe as good as it gets
    v = validate(rank_teachers(features, measured, probes))
    rows = v.filter(pl.col("ranker") == "probe")
    assert rows["student"].to_list() == ["s0", "s1", "s2", None]  # s3 lacks one probe
    assert rows["spearman"].head(3).to_list() == pytest.approx([1.0] * 3) and rows["regret"].to_list() == [0.0] * 4
    assert rows.row(-1, named=True)["students"] == 3
    assert v.filter(pl.col("student").is_null() & (pl.col("ranker") == "model"))["students"].to_list() == [4]


def test_probe_config_is_checked_before_any_job():
    from gkt.recommend.jobs import probe_jobs, probe_spec

    zoo = [{"name": n} for n in ("a", "b", "c")] + [{"name": "ctl", "source": "random"}]
    transfer = {"defaults": {"epochs": 20}, "runs": [{"methods": ["kl_dp"], "students": ["a"], "teachers": ["b"]}]}
    config = {"zoo": zoo, "transfer": transfer, "recommend": {"probe": {"students": ["a", "b"]}}}
    assert probe_jobs(config) == {"a": None, "b": None} and probe_spec(config).epochs == 2
    config["recommend"]["probe"]["teachers"] = ["a", "c"]
    assert probe_jobs(config) == {"a": ["c"], "b": ["a", "c"]}
    for probe, problem in [({"students": ["ctl"]}, "'ctl' is not a trained zoo model"),
                           ({"students": ["a"], "teachers": ["ctl"]}, "random-init controls are never candidates"),
                           ({"students": ["a"], "teachers": ["b"], "top": 2}, "give teachers or top, not both"),
                           ({"students": ["a"], "epochs": 20}, "recommend.probe.epochs = 20: a probe is a shorter")]:
        with pytest.raises(GktError, match=problem):
            probe_spec({**config, "recommend": {"probe": probe}})
    with pytest.raises(GktError, match="ranker probe needs 'a' among recommend.probe.students"):
        improve_jobs({**config, "recommend": {"improve": [{"student": "a", "teachers": 2, "ranker": "probe"}]}})
    with pytest.raises(GktError, match="transfer.runs has none"):
        probe_jobs({"zoo": zoo, "recommend": {"probe": {"students": ["a"]}}})
    with pytest.raises(GktError, match=r"^recommend.probe.holdout_per_class = 0: give 1 or more$"):
        probe_spec({**config, "recommend": {"probe": {"students": ["a"], "holdout_per_class": 0}}})


def test_probe_ranking_reads_held_out_train_images_and_is_reused(tiny_results, tmp_path, capsys):
    """`gkt recommend --probe`: a probe per candidate on held-out train images (its accuracy before is the
    student's on those very images, from its train cache), ranked by the probes; finished probes are
    reused, changed settings rerun them, and `gkt improve --ranker probe` follows their order."""
    import shutil

    from gkt.logits.cache import read_predictions
    from gkt.recommend.probe import probe_rows
    from gkt.recommend.improve import kl_dp_settings

    results = tmp_path / "results" / "mnist5k"
    shutil.copytree(tiny_results, results)
    settings = {**SETTINGS, "epochs": 2}
    args = ["recommend", "--results", str(results), "--student", "s", "--probe", "--dataset", '{"name": "mnist5k"}',
            "--settings", json.dumps(settings), "--probe-epochs", "1", "--probe-holdout", "20", "--threads", "1"]
    long = [*args[:args.index("--probe-epochs") + 1], "2", *args[args.index("--probe-epochs") + 2:]]
    assert main(long) == 2 and "--probe-epochs = 2: a probe is a shorter KL+DP run, give 1 to 1" in capsys.readouterr().err
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "order = the probes' delta_transf on held-out train images" in printed[0] and printed[-1] == "(3 rows)"
    table = pl.read_parquet(results / "recommend" / "probe" / "s.parquet")
    assert sorted(table["teacher"]) == ["t1", "t2", "t3"]
    shown = [ln.split() for ln in printed[3:6]]
    order = table.sort(["probe_delta_transf", "teacher"], descending=[True, False])
    assert [r[3] for r in shown] == order["teacher"].to_list()
    assert [float(r[1]) for r in shown] == pytest.approx((100 * order["probe_delta_transf"]).round(2).to_list())

    from gkt.data.factory import get_dataset

    mnist = get_dataset({"name": "mnist5k"})
    _, held, _ = probe_rows(mnist, kl_dp_settings(settings), 20)
    cache = read_predictions(results / "logits" / "train" / "s.parquet")
    before = float(np.mean(cache.pred[held] == mnist.labels("train")[held]))
    assert table["acc_before"].to_list() == pytest.approx([before] * 3)
    assert set(table["epochs"]) == {1} and set(table["run_epochs"]) == {2} and set(table["holdout_images"]) == {200}
    assert set(table["transfer_images"]) == {100}
    folder = results / table["folder"][0]
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.parquet"]  # no checkpoint, weights or val logits

    stamp = folder.stat().st_mtime_ns, (folder / "metrics.parquet").stat().st_mtime_ns
    assert main(args) == 0
    assert (folder.stat().st_mtime_ns, (folder / "metrics.parquet").stat().st_mtime_ns) == stamp
    capsys.readouterr()
    assert main([*args[:args.index("--settings") + 1], json.dumps({**settings, "lr": 0.02}),
                 *args[args.index("--settings") + 2:]]) == 0
    assert (folder / "metrics.parquet").stat().st_mtime_ns != stamp[1]
    assert main(args) == 0  # back to the first settings: probed again, as before
    assert pl.read_parquet(results / "recommend" / "probe" / "s.parquet").drop("seconds").equals(table.drop("seconds"))

    out = tmp_path / "improve"
    capsys.readouterr()
    assert main(["improve", "--dataset", '{"name": "mnist5k"}', "--results", str(results), "--student", "s",
                 "--teachers", "2", "--ranker", "probe", "--settings", json.dumps(settings), "--out", str(out),
                 "--threads", "1"]) == 0
    assert "top 2 teachers by probe" in capsys.readouterr().out
    row = pq.read_table(out / "improve.parquet").to_pylist()[0]
    assert row["ranker"] == "probe" and row["teachers"] == "+".join(order["teacher"].head(2))
