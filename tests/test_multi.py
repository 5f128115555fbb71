"""Multi-teacher transfer, job expansion and the CLI: pure helpers on tensors, then one tiny zoo end to end."""
import math

import polars as pl
import pyarrow.parquet as pq
import pytest
import torch

from gkt.cli import main
from gkt.errors import GktError
from gkt.transfer.jobs import Job, draw_pairs, explicit_jobs, planned_jobs
from gkt.transfer.objectives import LOSSES
from gkt.transfer.multi import average_weights, chain_rows, greedy_soup, order_teachers
from gkt.transfer.settings import resolve
from gkt.transfer.vocabulary import CARDS
from tests.helpers import tiny_zoo

torch.set_num_threads(1)


def _states(k=3):
    g = torch.Generator().manual_seed(0)
    return [{"w": torch.randn(4, 3, generator=g), "bn.running_mean": torch.randn(3, generator=g),
             "bn.num_batches_tracked": torch.tensor(i + 5)} for i in range(k)]


def test_soup_is_parameter_mean():
    states = _states()
    soup = average_weights(states)
    torch.testing.assert_close(soup["w"], (states[0]["w"] + states[1]["w"] + states[2]["w"]) / 3)
    torch.testing.assert_close(soup["bn.running_mean"], torch.stack([s["bn.running_mean"] for s in states]).mean(0))
    assert soup["bn.num_batches_tracked"] == 5 and soup["w"].data_ptr() != states[0]["w"].data_ptr()


def test_greedy_soup_keeps_ingredients_that_do_not_hurt():
    states = _states()
    target = states[0]["w"]
    # Score: closeness to ingredient 0. Ingredient 0 ranks first; averaging in others moves away.
    chosen_soup, chosen = greedy_soup(states, lambda s: -float((s["w"] - target).abs().sum()))
    assert chosen == [0] and torch.equal(chosen_soup["w"], states[0]["w"])
    flat, chosen = greedy_soup(states, lambda s: 1.0)  # ties never hurt: everything joins
    assert sorted(chosen) == [0, 1, 2]
    torch.testing.assert_close(flat["w"], average_weights(states)["w"])


def test_sequential_helpers():
    accuracy = {"b": 0.9, "a": 0.5, "c": 0.7, "d": 0.5}
    assert order_teachers(accuracy, "ascending") == ["a", "d", "c", "b"]
    assert order_teachers(accuracy, "descending") == ["b", "c", "d", "a"]
    steps = [[{"epoch": e, "acc": e} for e in range(3)], [{"epoch": e, "acc": 10 + e} for e in range(3)]]
    assert [(r["epoch"], r["acc"]) for r in chain_rows(steps)] == [(0, 0), (1, 1), (2, 2), (3, 11), (4, 12)]


def test_every_loss_has_spec_defaults():
    assert set(LOSSES) == set(CARDS)
    mcl = resolve("xekl_mcl")
    assert (mcl.lr, mcl.tau, mcl.every, mcl.loss) == (0.01, 0.9999, 2, {"temperature": 1.0, "lam": 0.7, "smoothing": 0.0})
    assert resolve("kl_dp_mcl").tau == 0.9999
    over = resolve("kl", {"epochs": 3}, {"kl": {"lr": 0.5, "temperature": 4}})
    assert (over.epochs, over.lr, over.loss) == (3, 0.5, {"temperature": 4, "lam": 1.0, "smoothing": 0.0})
    with pytest.raises(GktError, match="unknown transfer method"):
        resolve("bogus")
    with pytest.raises(GktError, match="not run settings"):
        resolve("kl", {"temperature": 2})


def test_job_expansion():
    transfer = {
        "runs": [{"methods": ["kl", "kl_dp"], "students": ["a", "b"], "teachers": ["a", "b", "c"]},
                 {"methods": ["kl"], "random": {"n": 2, "min_rho_pos": 0.1, "seed": 0}}],
        "multi": [{"modes": ["sequential", "soup"], "method": "kl_dp", "students": ["a"], "teachers": ["b", "c"]}],
    }
    jobs = explicit_jobs(transfer, ["a", "b", "c"])
    paths = {j.path for j in jobs}
    assert "kl/b__a" in paths and "kl/a__a" not in paths and len([j for j in jobs if j.method == "kl"]) == 4
    assert {"multi_sequential-kl_dp/b+c__a", "multi_soup-kl_dp/b+c__a"} <= paths
    soup = next(j for j in jobs if j.mode == "soup")
    assert (soup.method, soup.teachers, soup.paths[1]) == ("kl_dp", ["b", "c"], "multi_soup_greedy-kl_dp/b+c__a")
    assert next(j for j in jobs if j.method == "kl").mode is None  # a single-teacher run has no mode
    with pytest.raises(GktError, match="not in the zoo"):
        explicit_jobs(transfer, ["a", "b"])
    pairs = pl.DataFrame({"teacher": ["a", "b", "c", "ctl", "c"], "student": ["b", "a", "a", "a", "b"],
                          "rho_pos": [0.2, 0.05, 0.3, 0.5, 0.15], "teacher_is_control": [False] * 3 + [True, False]})
    assert draw_pairs(pairs, 5, 0.1) == [("a", "b"), ("c", "a"), ("c", "b")]  # fewer than n: all of them
    planned = planned_jobs(transfer, pairs, ["a", "b", "c", "ctl"])
    assert len(planned) == 2 and all(isinstance(j, Job) and j.method == "kl" for j in planned)
    assert planned == planned_jobs(transfer, pairs, ["a", "b", "c", "ctl"])  # seeded


# ---------------------------------------------------------------------------- a tiny zoo end to end
TINY = {"arch": "resnet10t", "kwargs": {"channels": [8, 8, 16, 16]}, "source": "random"}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, mnist):
    """Three random-init tiny CNNs (transfer works the same on them) and their logits caches."""
    return tiny_zoo(tmp_path_factory.mktemp("zoo"), mnist, ("s", "t1", "t2"), **TINY)


ARGS = ["--dataset", '{"name": "mnist5k"}', "--threads", "1", "--settings",
        '{"epochs": 1, "batch_size": 64, "lr": 0.01, "subset_per_class": 10, "loss": {"temperature": 2.0}}']


def _cli(zoo, *args):
    return main([*args, "--zoo-dir", str(zoo / "zoo"), "--logits-dir", str(zoo / "logits"), *ARGS])


def test_cli_single_and_multi(zoo, tmp_path):
    out = tmp_path / "kl_dp" / "t1__s"
    assert _cli(zoo, "transfer", "--method", "kl_dp", "--teacher", "t1", "--student", "s", "--out", str(out)) == 0
    rows = pq.read_table(out / "metrics.parquet").to_pylist()
    assert [r["epoch"] for r in rows] == [0, 1] and rows[1]["temperature"] == 2.0
    assert all(r["delta_transf"] == r["gain"] - r["loss"] for r in rows)
    assert {(r["method"], r["objective"]) for r in rows} == {("kl_dp", "kl_dp")}  # single run: objective = method

    for mode in ("sequential", "parallel", "soup"):
        d = tmp_path / f"multi_{mode}" / "t1+t2__s"
        greedy = tmp_path / "multi_soup_greedy" / "t1+t2__s"
        assert _cli(zoo, "transfer-multi", "--mode", mode, "--method", "kl_dp", "--teachers", "t1", "t2",
                    "--student", "s", "--out", str(d), "--out-greedy", str(greedy)) == 0
        rows = pq.read_table(d / "metrics.parquet").to_pylist()
        assert {r["method"] for r in rows} == {f"multi_{mode}"} and {r["teacher"] for r in rows} == {"t1+t2"}
        assert {r["objective"] for r in rows} == {"kl_dp"}  # the loss of the multi-teacher run is recorded
        parts = sorted(d.glob("steps/*/metrics.parquet")) + sorted(d.glob("ingredients/*/metrics.parquet"))
        assert len(parts) == (0 if mode == "parallel" else 2)
        for part in parts:  # sequential steps and soup ingredients record it too
            assert {r["objective"] for r in pq.read_table(part).to_pylist()} == {"kl_dp"}, part
        assert rows[0]["epoch"] == 0 and rows[0]["gain"] == 0
        assert (d / "student.safetensors").exists() and (d / "logits.parquet").exists()
    assert [r["epoch"] for r in pq.read_table(tmp_path / "multi_sequential/t1+t2__s/metrics.parquet").to_pylist()] \
        == [0, 1, 2]
    greedy_rows = pq.read_table(greedy / "metrics.parquet").to_pylist()
    assert math.isnan(greedy_rows[1]["dp_pos_to_teacher"])
    assert {(r["method"], r["objective"]) for r in greedy_rows} == {("multi_soup_greedy", "kl_dp")}


def test_cli_bad_inputs(zoo, tmp_path, capsys):
    out = str(tmp_path / "x")
    assert _cli(zoo, "transfer", "--method", "kl", "--teacher", "s", "--student", "s", "--out", out) == 2
    assert "equals the student" in capsys.readouterr().err
    assert _cli(zoo, "transfer", "--method", "kl_nope", "--teacher", "t1", "--student", "s", "--out", out) == 2
    assert "unknown transfer method" in capsys.readouterr().err
    assert _cli(zoo, "transfer-multi", "--mode", "parallel", "--method", "kl", "--teachers", "t1",
                "--student", "s", "--out", out) == 2
    assert "two or more" in capsys.readouterr().err


def test_multi_defaults_have_one_home():
    """The order and held-out share of a multi-teacher run default to gkt.transfer.vocabulary's values
    in the config's jobs, the CLI and the library, and are checked by one function."""
    import inspect

    from gkt.cli import build_parser
    from gkt.transfer import vocabulary as vocab
    from gkt.transfer.jobs import explicit_jobs
    from gkt.transfer.multi import run_multi

    (job,) = explicit_jobs({"multi": [{"modes": ["soup"], "method": "kl_dp", "students": ["s"], "teachers": ["a", "b"]}]},
                           ["s", "a", "b"])
    assert (job.order, job.holdout) == (vocab.MULTI_ORDER, vocab.MULTI_HOLDOUT)
    params = inspect.signature(run_multi).parameters
    assert (params["order"].default, params["holdout"].default) == (vocab.MULTI_ORDER, vocab.MULTI_HOLDOUT)
    args = build_parser().parse_args(["transfer-multi", "--mode", "soup", "--teachers", "a", "b", "--student", "s",
                                      "--dataset", "{}", "--zoo-dir", "z", "--out", "o", "--method", "kl_dp"])
    assert (args.order, args.holdout) == (vocab.MULTI_ORDER, vocab.MULTI_HOLDOUT)
    assert vocab.multi_problem("sideways", 0.1).startswith("order = 'sideways'")
    assert "held-out share" in vocab.multi_problem(vocab.MULTI_ORDER, 1.0)
    with pytest.raises(GktError, match="holdout = 0"):
        explicit_jobs({"multi": [{"modes": ["soup"], "method": "kl_dp", "students": ["s"], "teachers": ["a", "b"],
                                  "holdout": 0}]}, ["s", "a", "b"])
