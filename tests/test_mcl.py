"""MCL: the slow weights follow the EMA exactly and never share storage with the fast ones."""
import pytest
import torch
from torch import nn

from gkt.errors import GktError
from gkt.transfer.mcl import MCL

torch.set_num_threads(1)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_slow_weights_follow_ema_every_n_steps():
    model = _model()
    tau, every = 0.9, 2
    mcl = MCL(model, tau=tau, every=every)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    for step in range(1, 8):
        model.train()
        loss = model(torch.randn(16, 4)).logsumexp(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        mcl.step()
        if step % every == 0:
            for k, fast in model.state_dict().items():
                expected[k] = expected[k] * tau + fast * (1 - tau) if fast.is_floating_point() else fast.clone()
        for k, slow in mcl.slow.state_dict().items():
            assert torch.equal(slow, expected[k]), (step, k)
    assert mcl.steps == 7
    assert not any(p.requires_grad for p in mcl.slow.parameters())


def test_slow_weights_are_never_aliased():
    model = _model()
    mcl = MCL(model, tau=0.5, every=1)
    fast_ptrs = {t.data_ptr() for t in [*model.parameters(), *model.buffers()]}
    assert not fast_ptrs & {t.data_ptr() for t in [*mcl.slow.parameters(), *mcl.slow.buffers()]}
    before = {k: v.clone() for k, v in mcl.slow.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # an optimizer step on the fast weights only
    assert all(torch.equal(v, before[k]) for k, v in mcl.slow.state_dict().items())


def test_state_round_trip_and_bad_args():
    model = _model()
    mcl = MCL(model, tau=0.5, every=1)
    mcl.step()
    other = MCL(_model(), tau=0.5, every=1)
    other.load_state_dict(mcl.state_dict())
    assert other.steps == 1
    assert all(torch.equal(a, b) for a, b in zip(other.slow.state_dict().values(), mcl.slow.state_dict().values()))
    with pytest.raises(GktError, match="tau"):
        MCL(model, tau=1.5, every=2)
