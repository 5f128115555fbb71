"""The transfer loop on tiny synthetic models: outputs, resume after a kill, bad inputs."""
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
import safetensors.torch
import torch
from torch import nn

from gkt.errors import GktError
from gkt.logits.cache import read_logits
from gkt.transfer.settings import TransferConfig, resolve
from gkt.transfer.trainer import Participant, Split, Trainer

torch.set_num_threads(1)
D, C = 8, 4


class Tiny(nn.Module):
    """The slice of timm's model API the trainer uses, with BN and dropout to exercise state and RNG."""

    def __init__(self, seed: int, classes: int = C):
        super().__init__()
        torch.manual_seed(seed)
        self.body = nn.Sequential(nn.Linear(D, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.drop, self.head = nn.Dropout(0.2), nn.Linear(16, classes)

    def forward_features(self, x):
        return self.body(x)

    def forward_head(self, x, pre_logits=False):
        x = self.drop(x)
        return x if pre_logits else self.head(x)

    def get_classifier(self):
        return self.head

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


def identity(x):
    return x


class Points(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.labels = np.arange(n) % C
        self.x = torch.randn(n, D, generator=g) + 2 * nn.functional.one_hot(torch.as_tensor(self.labels), D).float()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.x[i], int(self.labels[i])


def _trainer(tmp_path, method="kl_dp", teacher_classes=C, teacher_name="t", keys=None, **cfg):
    train, val = Points(96, 0), Points(40, 1)
    settings = dict(method=method, epochs=3, batch_size=16, lr=0.05, tau=0.9, every=2, targets="cached")
    if method == "crd":
        settings["loss"] = dict(feat_dim=8, nce_k=16)
    settings.update(cfg)
    return Trainer(
        TransferConfig.from_dict(settings),
        Participant("s", Tiny(0), identity), [Participant(teacher_name, Tiny(1, teacher_classes), identity)],
        Split(train, train.labels), Split(val, val.labels), tmp_path, torch.device("cpu"),
        logits_meta={"dataset": "points"}, keys=keys,
    )


def _same_rows(a, b, skip=()):
    """Row lists equal, NaN equal to NaN."""
    def norm(rows):
        return [{k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items() if k not in skip}
                for r in rows]
    return norm(a) == norm(b)


def _weights(path):
    return safetensors.torch.load_file(str(path / "student.safetensors"))


def test_outputs_and_metrics(tmp_path):
    result = _trainer(tmp_path).fit()
    rows = pq.read_table(tmp_path / "metrics.parquet").to_pylist()
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3] and _same_rows(rows, result.rows)
    for r in rows:
        assert r["delta_transf"] == r["gain"] - r["loss"]
        assert r["method"] == r["objective"] == "kl_dp" and r["teacher"] == "t" and r["student"] == "s"
    assert rows[0]["gain"] == rows[0]["loss"] == 0 and math.isnan(rows[0]["dp_pos_to_teacher"])
    assert all(0 <= r["dp_pos_to_teacher"] <= 1 and 0 <= r["dp_neg_to_teacher"] <= 1 for r in rows[1:])
    cache = read_logits(tmp_path / "logits.parquet", num_classes=C, rows=40)
    assert cache.top1 == pytest.approx(rows[-1]["acc"]) and cache.meta["dataset"] == "points"
    per_class = pq.read_table(tmp_path / "per_class.parquet").to_pydict()
    assert per_class["class"] == list(range(C))
    assert all(0 <= t <= p for t, p in zip(per_class["transferred"], per_class["pos_flips"]))
    assert set(_weights(tmp_path)) == set(result.model.state_dict())


def test_rows_carry_the_labels_of_a_multi_teacher_run(tmp_path):
    """A multi-teacher run labels its rows with its keys (gkt.transfer.vocabulary.run_keys): the files' method
    column says multi_<mode>, their objective column the method."""
    from gkt.transfer.vocabulary import run_keys

    result = _trainer(tmp_path, "kl", epochs=1, keys=run_keys("kl", "t", "s", "parallel")).fit()
    rows = pq.read_table(tmp_path / "metrics.parquet").to_pylist()
    assert {(r["method"], r["objective"]) for r in rows} == {("multi_parallel", "kl")} and _same_rows(rows, result.rows)


class Killed(Exception):
    pass


@pytest.mark.parametrize("method,targets", [("kl_dp", "live"), ("xekl_mcl", "cached"), ("crd", "cached")])
def test_killed_mid_epoch_resumes_to_identical_weights(tmp_path, monkeypatch, method, targets):
    _trainer(tmp_path / "full", method, targets=targets).fit()

    real_step, calls = torch.optim.SGD.step, {"n": 0}

    def dying_step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 6 + 6 + 3:  # 6 steps per epoch: die in the middle of epoch 3
            raise Killed
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.SGD, "step", dying_step)
    with pytest.raises(Killed):
        _trainer(tmp_path / "resumed", method, targets=targets).fit()
    assert not (tmp_path / "resumed" / "student.safetensors").exists()
    monkeypatch.setattr(torch.optim.SGD, "step", real_step)
    _trainer(tmp_path / "resumed", method, targets=targets).fit()

    full, resumed = _weights(tmp_path / "full"), _weights(tmp_path / "resumed")
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    rows = [pq.read_table(tmp_path / d / "metrics.parquet").to_pylist() for d in ("full", "resumed")]
    assert _same_rows(*rows, skip=("seconds",))


def test_cached_targets_match_live(tmp_path):
    cached = _trainer(tmp_path / "c", "kl", targets="cached").fit()
    live = _trainer(tmp_path / "l", "kl", targets="live").fit()
    for a, b in zip(cached.model.state_dict().values(), live.model.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_bad_inputs(tmp_path):
    with pytest.raises(GktError, match="predicts 5 classes"):
        _trainer(tmp_path, teacher_classes=5).fit()
    with pytest.raises(GktError, match="is the student itself"):
        _trainer(tmp_path, teacher_name="s")
    with pytest.raises(GktError, match="unknown transfer method"):
        _trainer(tmp_path, method="kl_bogus")

def test_settings_are_checked_where_they_enter():
    """Every value is checked once, by TransferConfig.from_dict, with the key that holds it."""
    with pytest.raises(GktError, match=r"--settings.augmentation = 'light' changes the teachers' targets every epoch"):
        TransferConfig.from_dict({"method": "kl", "augmentation": "light", "targets": "cached"})
    with pytest.raises(GktError, match=r"--settings.augmentation = 'wild': use one of none, light, strong"):
        TransferConfig.from_dict({"method": "kl", "augmentation": "wild", "targets": "live"})
    with pytest.raises(GktError, match=r"unknown transfer settings \['epoch'\]"):
        TransferConfig.from_dict({"method": "kl", "epoch": 3})
    with pytest.raises(GktError, match=r"--runs\[2\].settings.batch_size = 0 must be > 0"):
        TransferConfig.from_dict({"method": "kl", "batch_size": 0}, "--runs[2].settings")
    with pytest.raises(GktError, match=r"--settings.loss.temperature = -1 must be > 0"):
        TransferConfig.from_dict({"method": "kl", "loss": {"temperature": -1}})
    with pytest.raises(GktError, match=r"transfer.defaults.targets = 'lazy'"):
        resolve("kl", {"targets": "lazy"})
    with pytest.raises(GktError, match=r"transfer.hparams.kl.augmentation = 'strong' changes"):
        resolve("kl", {"targets": "cached"}, {"kl": {"augmentation": "strong"}})
    live = resolve("kl", {"targets": "live"}, {"kl": {"augmentation": "strong"}})
    assert (live.augmentation, live.targets, live.loss) == ("strong", "live", {"temperature": 1.0, "lam": 1.0, "smoothing": 0.0})
    # The loss's hyperparameters are completed with its card's defaults, so a run's settings name them all.
    assert TransferConfig.from_dict({"method": "kl_topk", "loss": {"k": 3}}).loss == \
        {"temperature": 1.0, "lam": 1.0, "smoothing": 0.0, "k": 3}


def test_random_views_replay_one_draw_per_sample():
    from gkt.transfer.feed import Views

    data = Points(4, 0)
    jitter_a = lambda x: x + torch.rand(())  # noqa: E731
    jitter_b = lambda x: 2 * x + torch.rand(())  # noqa: E731  (another model's preprocessing)
    views = Views(data, data.labels, [jitter_a, jitter_b], random_views=True)
    (a, b), _, _ = views[0]
    torch.testing.assert_close(b - 2 * data[0][0], a - data[0][0])  # the same random draw in both views
    (a2, _), _, _ = views[0]
    assert not torch.equal(a, a2)  # and a fresh one on every access


def test_rerun_after_last_epoch_restores_removed_outputs(tmp_path):
    """Snakemake removes a failed job's outputs before rerunning it; the checkpoint brings them back."""
    first = _trainer(tmp_path, "xekl_mcl").fit()
    for name in ("metrics.parquet", "per_class.parquet", "logits.parquet", "student.safetensors"):
        (tmp_path / name).unlink()
    again = _trainer(tmp_path, "xekl_mcl").fit()
    assert _same_rows(first.rows, pq.read_table(tmp_path / "metrics.parquet").to_pylist())
    assert _same_rows(first.rows, again.rows)
    ref = first.model.state_dict()
    assert all(torch.equal(ref[k], v) for k, v in _weights(tmp_path).items())


def test_dataloader_path_matches_materialised_tensors(tmp_path, monkeypatch):
    """Large splits stream through a DataLoader instead of being preprocessed once: same training."""
    import gkt.transfer.feed as feed

    small = _trainer(tmp_path / "tensors", "kl_dp", targets="live").fit()
    monkeypatch.setattr(feed, "MATERIALISE_BYTES", 0)
    streamed = _trainer(tmp_path / "loader", "kl_dp", targets="live").fit()
    assert all(torch.equal(a, b) for a, b in zip(small.model.state_dict().values(), streamed.model.state_dict().values()))


def test_runs_are_reproducible_whatever_the_rng_state_before(tmp_path):
    """CRD draws its heads and memory bank when it binds: the same run twice, with the global RNGs
    left wherever the first run (or anything else) put them, gives the same rows and weights."""
    a = _trainer(tmp_path / "a", method="crd").fit()
    torch.rand(7)  # whatever ran before must not matter
    b = _trainer(tmp_path / "b", method="crd").fit()
    assert _same_rows(a.rows, b.rows, skip=("seconds",))
    assert all(torch.equal(x, y) for x, y in zip(_weights(tmp_path / "a").values(), _weights(tmp_path / "b").values()))


def test_eval_every_keeps_the_result_and_thins_the_rows(tmp_path):
    every = _trainer(tmp_path / "a", epochs=5, eval_every=2).fit()
    full = _trainer(tmp_path / "b", epochs=5).fit()
    assert [r["epoch"] for r in every.rows] == [0, 2, 4, 5]
    # DP's shares differ by design: a thinned row counts the routing of every epoch since the row before.
    skip = ("seconds", "dp_pos_to_teacher", "dp_neg_to_teacher")
    assert _same_rows([r for r in full.rows if r["epoch"] in (0, 2, 4, 5)], every.rows, skip=skip)
    assert np.array_equal(every.val_logits, full.val_logits)


def _close(a, b):
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)


def test_dp_shares_cover_every_epoch_since_the_previous_row(tmp_path, monkeypatch):
    every = _trainer(tmp_path / "a", epochs=4, eval_every=2).fit()
    per_epoch = {r["epoch"]: r for r in _trainer(tmp_path / "b", epochs=4).fit().rows}
    for row in every.rows[1:]:
        e = row["epoch"]
        for key in ("dp_pos_to_teacher", "dp_neg_to_teacher"):
            # The flip samples are the same in every epoch (fixed teacher and frozen student), so the
            # pooled share of two epochs is the mean of their shares.
            assert _close(row[key], (per_epoch[e - 1][key] + per_epoch[e][key]) / 2)
    assert not math.isnan(every.rows[1]["dp_pos_to_teacher"])

    # Killed in the middle of a row's window (epoch 2): the epoch-1 checkpoint carries epoch 1's counts.
    real_step, calls = torch.optim.SGD.step, {"n": 0}

    def dying_step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 6 + 3:  # 6 steps per epoch
            raise Killed
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.SGD, "step", dying_step)
    with pytest.raises(Killed):
        _trainer(tmp_path / "c", epochs=4, eval_every=2).fit()
    monkeypatch.setattr(torch.optim.SGD, "step", real_step)
    resumed = _trainer(tmp_path / "c", epochs=4, eval_every=2).fit()
    assert _same_rows(every.rows, resumed.rows, skip=("seconds",))
