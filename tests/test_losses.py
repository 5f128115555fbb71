"""Every transfer loss against its formula (docs/method.md#transfer-methods) on random tensors."""
import math

import numpy as np
import pytest
import torch

from gkt.errors import GktError
from gkt.transfer.contrastive import CRDDist
from gkt.transfer.losses import LossContext, TransferBatch
from gkt.transfer.objectives import build_loss
from gkt.transfer.settings import resolve
from gkt.transfer.vocabulary import known_methods, split_method
from gkt.transfer.metrics import per_class_transfer, significance, transfer_metrics

torch.set_num_threads(1)
B, C, T = 16, 7, 2.5


def ref_kl(target, student, t=T):
    """T² · Σ_c p_t,c (log p_t,c − log p_s,c) per sample, from the textbook definition."""
    p_t = torch.softmax(target / t, -1)
    p_s = torch.softmax(student / t, -1)
    return t * t * (p_t * (p_t.log() - p_s.log())).sum(-1)


def ref_xe(student, labels):
    return -torch.log_softmax(student, -1)[torch.arange(len(labels)), labels]


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return TransferBatch(
        student=torch.randn(B, C, generator=g) * 3,
        teachers=torch.randn(1, B, C, generator=g) * 3,
        labels=torch.randint(0, C, (B,), generator=g),
        frozen=torch.randn(B, C, generator=g) * 3,
    )


def test_kl_is_tempered_hinton_kl(batch):
    out = build_loss("kl", temperature=T)(batch)
    torch.testing.assert_close(out.loss, ref_kl(batch.teachers[0], batch.student).mean())
    assert out.route is None


def test_xekl_mixes_kl_and_xe_on_logits(batch):
    lam = 0.3
    got = build_loss("xekl", temperature=T, lam=lam)(batch).loss
    want = lam * ref_kl(batch.teachers[0], batch.student).mean() + (1 - lam) * ref_xe(batch.student, batch.labels).mean()
    torch.testing.assert_close(got, want)
    # XE taken on probabilities would be a different number: guard against that mistake.
    wrong = lam * ref_kl(batch.teachers[0], batch.student).mean() + (1 - lam) * ref_xe(
        torch.softmax(batch.student, -1), batch.labels).mean()
    assert not torch.isclose(got, wrong)


def test_xekl_label_smoothing(batch):
    lam, eps = 0.4, 0.2
    got = build_loss("xekl_ls", temperature=T, lam=lam, smoothing=eps)(batch).loss
    log_p = torch.log_softmax(batch.student, -1)
    xe_ls = ((1 - eps) * ref_xe(batch.student, batch.labels) - eps * log_p.mean(-1)).mean()
    torch.testing.assert_close(got, lam * ref_kl(batch.teachers[0], batch.student).mean() + (1 - lam) * xe_ls)


def test_kl_topk_restricts_to_teacher_topk(batch):
    k = 3
    got = build_loss("kl_topk", temperature=T, k=k)(batch).loss
    terms = []
    for i in range(B):  # per-sample reference loop: clarity over speed
        top = torch.argsort(batch.teachers[0, i], descending=True)[:k]
        terms.append(ref_kl(batch.teachers[0, i, top], batch.student[i, top]))
    torch.testing.assert_close(got, torch.stack(terms).mean())
    full = build_loss("kl_topk", temperature=T, k=C)(batch).loss
    torch.testing.assert_close(full, build_loss("kl", temperature=T)(batch).loss)
    with pytest.raises(GktError, match="exceeds"):
        build_loss("kl_topk", k=C + 1)(batch)


def _confident(labels, scale=20.0):
    return torch.nn.functional.one_hot(labels, C).float() * scale


def test_dp_all_teacher_reduces_to_kl_against_teacher(batch):
    batch.teachers = _confident(batch.labels)[None] + 0.1 * batch.teachers
    out = build_loss("kl_dp", temperature=T)(batch)
    assert (out.route == 1).all()
    torch.testing.assert_close(out.loss, ref_kl(batch.teachers[0], batch.student).mean())


def test_dp_all_student_reduces_to_kl_against_frozen(batch):
    batch.frozen = _confident(batch.labels) + 0.1 * batch.frozen
    out = build_loss("kl_dp", temperature=T)(batch)
    assert (out.route == 0).all()
    torch.testing.assert_close(out.loss, ref_kl(batch.frozen, batch.student).mean())


def test_dp_mixed_masks_match_eq5(batch):
    out = build_loss("kl_dp", temperature=T)(batch)
    idx = torch.arange(B)
    m_t = (torch.softmax(batch.teachers[0], -1)[idx, batch.labels]
           > torch.softmax(batch.frozen, -1)[idx, batch.labels]).float()
    assert 0 < m_t.sum() < B, "fixture should mix both routes"
    want = (m_t * ref_kl(batch.teachers[0], batch.student) + (1 - m_t) * ref_kl(batch.frozen, batch.student)).mean()
    torch.testing.assert_close(out.loss, want)
    assert torch.equal(out.route, m_t.long())


def test_dp_unsup_routes_by_max_probability():
    labels = torch.zeros(4, dtype=torch.long)
    # Teacher: very confident in class 1 (wrong); frozen student: mildly confident in the label.
    teacher = torch.tensor([[0.0, 5.0, 0.0]]).repeat(4, 1)[None]
    frozen = torch.tensor([[1.0, 0.0, 0.0]]).repeat(4, 1)
    b = TransferBatch(student=torch.zeros(4, 3), teachers=teacher, labels=labels, frozen=frozen)
    assert (build_loss("kl_dp", temperature=T)(b).route == 0).all()
    assert (build_loss("kl_dp_unsup", temperature=T)(b).route == 1).all()
    # Unsupervised routing ignores the labels entirely.
    b.labels = torch.full((4,), 2)
    assert (build_loss("kl_dp_unsup", temperature=T)(b).route == 1).all()


def test_dp_parallel_picks_most_confident_of_all(batch):
    g = torch.Generator().manual_seed(1)
    batch.teachers = torch.randn(3, B, C, generator=g) * 3
    out = build_loss("kl_dp", temperature=T)(batch)
    cands = torch.cat([batch.frozen[None], batch.teachers])
    conf = torch.softmax(cands, -1)[:, torch.arange(B), batch.labels]
    assert torch.equal(out.route, conf.argmax(0))
    target = cands[out.route, torch.arange(B)]
    torch.testing.assert_close(out.loss, ref_kl(target, batch.student).mean())


def test_plain_kl_averages_teachers(batch):
    g = torch.Generator().manual_seed(2)
    batch.teachers = torch.randn(3, B, C, generator=g)
    want = torch.stack([ref_kl(t, batch.student) for t in batch.teachers]).mean()
    torch.testing.assert_close(build_loss("kl", temperature=T)(batch).loss, want)


def test_cd_matches_similarity_kl(batch):
    g = torch.Generator().manual_seed(3)
    batch.student_feats, batch.teacher_feats = torch.randn(B, 5, generator=g), torch.randn(1, B, 9, generator=g)
    got = build_loss("cd", temperature=T, lam=0.5)(batch).loss

    def sim(f):
        f = f / f.norm(dim=-1, keepdim=True)
        return f @ f.T

    cd = ref_kl(sim(batch.teacher_feats[0]), sim(batch.student_feats), t=T) / T**2
    want = 0.5 * cd.mean() + 0.5 * ref_xe(batch.student, batch.labels).mean()
    torch.testing.assert_close(got, want)


def test_crd_heads_memory_and_negatives():
    torch.manual_seed(0)
    n, k = 60, 20
    labels = torch.arange(n) % 3
    crd = build_loss("crd", feat_dim=8, nce_k=k)
    crd.bind(LossContext(student_dim=5, teacher_dims=(6,), labels=labels))
    neg = crd.negatives(labels)
    assert neg.shape == (n, k) and (labels[neg] != labels[:, None]).all()
    idx = torch.arange(10)
    b = TransferBatch(student=torch.randn(10, 3, requires_grad=True), teachers=torch.randn(1, 10, 3),
                      labels=labels[idx], index=idx, student_feats=torch.randn(10, 5, requires_grad=True),
                      teacher_feats=torch.randn(1, 10, 6))
    before = crd.memory_s.clone()
    loss = crd(b).loss
    loss.backward()
    assert math.isfinite(loss.item())
    assert crd.embed_s.weight.grad is not None and b.student_feats.grad is not None
    assert not torch.equal(crd.memory_s[idx], before[idx]) and torch.equal(crd.memory_s[10:], before[10:])
    torch.testing.assert_close(crd.memory_s[idx].norm(dim=-1), torch.ones(10))
    with pytest.raises(GktError, match="nce_k"):
        build_loss("crd", nce_k=n).bind(LossContext(5, (6,), labels))


def test_unknown_method_and_bad_hparams():
    def settings(method, **loss):
        return resolve(method, None, {method: loss})

    with pytest.raises(GktError, match="unknown transfer method"):
        settings("kl_nope")
    with pytest.raises(GktError, match=r"transfer.hparams.kl: \['bogus'\] are not hyperparameters of 'kl'"):
        settings("kl", bogus=0.5)
    with pytest.raises(GktError, match=r"transfer.hparams.xekl.lam = 1.5 must be in \[0, 1\]"):
        settings("xekl", lam=1.5)
    with pytest.raises(GktError, match="temperature = -1 must be > 0"):
        settings("kl_dp", temperature=-1)
    with pytest.raises(GktError, match="k = 2.5 must be an integer"):
        settings("kl_topk", k=2.5)
    assert split_method("xekl_mcl") == ("xekl", True) and split_method("kl_dp") == ("kl_dp", False)
    assert {"kl", "xekl", "xekl_ls", "kl_topk", "kl_dp", "kl_dp_unsup", "cd", "crd", "xekl_mcl"} <= set(known_methods())
    assert len(known_methods()) == len(set(known_methods()))  # xekl_mcl once


def test_delta_transf_is_gain_minus_loss():
    rng = np.random.default_rng(0)
    n, c = 997, 10
    labels = rng.integers(0, c, n)
    p0, p1, pt = (np.where(rng.random(n) < q, labels, rng.integers(0, c, n)) for q in (0.6, 0.65, 0.7))
    m = transfer_metrics(labels, p0, p1, pt)
    assert m["delta_transf"] == m["gain"] - m["loss"]
    assert math.isclose(m["delta_transf"], m["acc"] - m["acc_student"], abs_tol=1e-12)
    pos = (pt == labels) & (p1 != labels)
    assert m["rho_pos"] == pos.sum() / n
    assert math.isclose(m["delta_rho_pos"], m["rho_pos"] - ((pt == labels) & (p0 != labels)).sum() / n)
    pc = per_class_transfer(labels, p0, p1, pt, c)
    flips0 = (pt == labels) & (p0 != labels)
    assert pc["pos_flips"].sum() == flips0.sum() and pc["transferred"].sum() == (flips0 & (p1 == labels)).sum()
    same = transfer_metrics(labels, p0, p0, pt)
    assert same["gain"] == same["loss"] == same["delta_transf"] == same["delta_rho_pos"] == 0


@pytest.mark.parametrize("gained, lost", [(0, 0), (0, 1), (3, 3), (7, 19), (120, 80), (2600, 2400), (0, 900)])
def test_mcnemar_p_is_the_exact_binomial_test(gained, lost):
    from scipy.stats import binomtest

    p = significance(gained, lost, 50_000)["mcnemar_p"]
    assert significance(np.int64(gained), np.int64(lost), 50_000)["mcnemar_p"] == p  # counts come from numpy
    expected = 1.0 if gained + lost == 0 else binomtest(gained, gained + lost, 0.5).pvalue
    assert math.isclose(p, expected, rel_tol=1e-9, abs_tol=1e-300)
