"""Pair sampling for the complementary-knowledge study: all pairs, seeded samples, the control, bad input."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gkt.cli import main
from gkt.complementary.pairs import PairSpec, read_pair_list, sample_pairs, write_pair_list
from gkt.errors import GktError
from gkt.io import write_parquet

ZOO = ["vit", "resnet", "mixer", "convnext", "ctrl"]


def test_all_ordered_pairs_without_self_pairs_and_the_control_as_teacher():
    pairs = sample_pairs(["b", "a", "c", "ctrl"], "ctrl", PairSpec(n=None))
    assert pairs == [
        ("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b"),
        ("ctrl", "a"), ("ctrl", "b"), ("ctrl", "c"),
    ]


def test_without_control():
    assert sample_pairs(["x", "y"], None, PairSpec(n=None)) == [("x", "y"), ("y", "x")]


def test_sampled_pairs_are_deterministic_for_a_seed_and_the_model_set():
    first = sample_pairs(ZOO, "ctrl", PairSpec(n=5, seed=7))
    assert first == sample_pairs(ZOO, "ctrl", PairSpec(n=5, seed=7))
    assert first == sample_pairs(list(reversed(ZOO)), "ctrl", PairSpec(n=5, seed=7))  # config order does not matter
    drawn = [p for p in first if p[0] != "ctrl"]
    assert len(drawn) == 5 and len(set(drawn)) == 5 and all(t != s for t, s in drawn)
    assert all("ctrl" not in p for p in drawn)
    # the control teaches exactly the students that the drawn pairs contain
    assert [s for t, s in first if t == "ctrl"] == sorted({s for _, s in drawn})
    others = {tuple(sample_pairs(ZOO, "ctrl", PairSpec(n=5, seed=seed))) for seed in range(5)}
    assert len(others) > 1


def test_n_equal_to_all_pairs_draws_every_pair():
    assert sample_pairs(ZOO, "ctrl", PairSpec(n=12, seed=3)) == sample_pairs(ZOO, "ctrl", PairSpec(n=None))


@pytest.mark.parametrize(
    "value, expected",
    [("all", PairSpec(None)), ('"all"', PairSpec(None)), ({"n": 466, "seed": 1}, PairSpec(466, 1)),
     ('{"n": 5}', PairSpec(5, 0)), ("{n: 5, seed: 2}", PairSpec(5, 2))],
)
def test_parse_spec(value, expected):
    assert PairSpec.parse(value) == expected


@pytest.mark.parametrize("value", ["some", "{n: [", {"n": 0}, {"n": 2.5}, {"m": 3}, {"n": 3, "seed": "x"}, {"n": True}, 5])
def test_bad_specs_are_refused(value):
    with pytest.raises(GktError, match="config key pairs"):
        PairSpec.parse(value)


@pytest.mark.parametrize("models, control", [([], None), (["ctrl"], "ctrl"), (["a", "ctrl"], "ctrl"), (["a"], None)])
def test_too_small_zoo_is_refused(models, control):
    with pytest.raises(GktError, match="at least two"):
        sample_pairs(models, control, PairSpec(None))


def test_bad_zoo_input_is_refused():
    with pytest.raises(GktError, match="only 12 ordered pairs"):
        sample_pairs(ZOO, "ctrl", PairSpec(n=13))
    with pytest.raises(GktError, match="control model 'rnd' is not in the zoo"):
        sample_pairs(ZOO, "rnd", PairSpec(None))
    with pytest.raises(GktError, match="more than once"):
        sample_pairs(["a", "b", "a"], None, PairSpec(None))


def test_pair_list_round_trip(tmp_path):
    pairs = sample_pairs(ZOO, "ctrl", PairSpec(n=4, seed=0))
    write_pair_list(pairs, "ctrl", PairSpec(n=4, seed=0), tmp_path / "pl.parquet")
    assert read_pair_list(tmp_path / "pl.parquet") == (pairs, "ctrl")
    assert pq.read_table(tmp_path / "pl.parquet").column_names == ["teacher", "student"]


def test_bad_pair_lists_are_refused(tmp_path):
    with pytest.raises(GktError, match="does not exist"):
        read_pair_list(tmp_path / "none.parquet")
    write_parquet(pa.table({"teacher": ["a"], "student": ["a"]}), tmp_path / "self.parquet")
    with pytest.raises(GktError, match="with itself"):
        read_pair_list(tmp_path / "self.parquet")
    write_parquet(pa.table({"t": ["a"]}), tmp_path / "cols.parquet")
    with pytest.raises(GktError, match="columns teacher, student"):
        read_pair_list(tmp_path / "cols.parquet")
    pq.write_table(pa.table({"teacher": ["a"], "student": ["b"]}), tmp_path / "by_hand.parquet")
    with pytest.raises(GktError, match=r"by_hand.parquet was not written by gkt .*rewrite it with `gkt pairs`"):
        read_pair_list(tmp_path / "by_hand.parquet")


def test_pairs_command(tmp_path, capsys):
    out = tmp_path / "complementary" / "pair_list.parquet"
    assert main(["pairs", "--models", *ZOO, "--control", "ctrl", "--pairs", '{"n": 3, "seed": 0}', "--out", str(out)]) == 0
    pairs, control = read_pair_list(out)
    assert control == "ctrl" and pairs == sample_pairs(ZOO, "ctrl", PairSpec(3, 0))
    assert main(["pairs", "--models", "a", "--out", str(tmp_path / "x.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gkt: error: ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.parquet").exists()
