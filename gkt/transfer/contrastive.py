"""Feature-based transfer objectives (Supp. A.2): CD and CRD distillation (docs/method.md#cd-distillation).

Both match pooled pre-logit features rather than logits, so the trainer forwards features for them
(`TransferLoss.needs_features`), and both add an XE term on the student's logits.
CRD (Tian et al. 2020) also owns trainable projection heads and two memory banks of per-sample
embeddings; it needs the feature sizes and transfer-set labels first, given through `bind`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gkt.errors import GktError
from gkt.transfer import vocabulary as vocab
from gkt.transfer.losses import CONTRASTIVE, TEMPERATURE, LossContext, LossOutput, TransferBatch, TransferLoss, register


def full_precision(like: torch.Tensor):
    """Autocast off: similarity matrices and NCE scores (exp of cosine / 0.07) need float32, not bf16."""
    return torch.autocast(device_type=like.device.type, enabled=False)


def _single_teacher_feats(batch: TransferBatch, name: str) -> torch.Tensor:
    if batch.teacher_feats is None or batch.student_feats is None:
        raise GktError(f"{name} needs student and teacher features (trainer): the loss declares needs_features")
    return batch.teacher_feats


@register("cd", vocab.MethodCard({"temperature": TEMPERATURE, "lam": vocab.unit(0.5)}, "CD", CONTRASTIVE, "#55A868",
                                  order=8))
class CDDist(TransferLoss):
    """CD distillation (Eq. 6): match the batch's cosine-similarity matrices row-wise with KL,
    `λ·KL(σ(S_t/T) ‖ σ(S_s/T)) + (1−λ)·XE`; the paper's best weighting is 1:1 (λ = 0.5).
    Several teachers average their KL terms.
    """

    needs_features = True

    def __init__(self, temperature: float, lam: float):
        super().__init__()
        self.temperature, self.lam = float(temperature), float(lam)

    @staticmethod
    def similarity(feats: torch.Tensor) -> torch.Tensor:
        f = F.normalize(feats.float(), dim=-1)
        return f @ f.transpose(-1, -2)

    def forward(self, batch: TransferBatch) -> LossOutput:
        with full_precision(batch.student):
            return self._loss(batch)

    def _loss(self, batch: TransferBatch) -> LossOutput:
        teacher_feats = _single_teacher_feats(batch, self.name)
        log_s = F.log_softmax(self.similarity(batch.student_feats) / self.temperature, dim=-1)  # [B, B]
        log_t = F.log_softmax(self.similarity(teacher_feats) / self.temperature, dim=-1)  # [K, B, B]
        cd = (log_t.exp() * (log_t - log_s)).sum(-1).mean()
        xe = F.cross_entropy(batch.student.float(), batch.labels)
        return LossOutput(self.lam * cd + (1.0 - self.lam) * xe)


# Tian et al.'s settings.
@register("crd", vocab.MethodCard({"feat_dim": vocab.positive(128, integer=True), "nce_k": vocab.positive(16384, integer=True),
                                   "nce_t": vocab.positive(0.07), "nce_momentum": vocab.unit(0.5), "beta": vocab.unit(0.8)},
                                  "CRD", CONTRASTIVE, "#8C8C3C", order=9))
class CRDDist(TransferLoss):
    """CRD distillation (Eq. 7) with Tian et al.'s defaults: `XE + β·(L_s + L_t)`, where each NCE
    term contrasts one side's embedding with the other side's memory-bank entries of the positive
    sample and `nce_k` negatives drawn from other classes.
    """

    needs_features = True
    needs_index = True

    def __init__(self, feat_dim: int, nce_k: int, nce_t: float, nce_momentum: float, beta: float):
        super().__init__()
        self.feat_dim, self.nce_k, self.nce_t = int(feat_dim), int(nce_k), float(nce_t)
        self.nce_momentum, self.beta = float(nce_momentum), float(beta)
        self.bound = False

    def bind(self, ctx: LossContext) -> None:
        if len(ctx.teacher_dims) != 1:
            raise GktError(f"crd transfers from one teacher, got {len(ctx.teacher_dims)}: use sequential or soup mode")
        n = len(ctx.labels)
        labels = ctx.labels.long().cpu()
        largest_class = int(torch.bincount(labels).max())
        if self.nce_k > n - largest_class:
            raise GktError(f"crd nce_k={self.nce_k} exceeds the {n - largest_class} available negatives "
                           "(transfer hparams crd.nce_k): lower it")
        self.embed_s = nn.Linear(ctx.student_dim, self.feat_dim)
        self.embed_t = nn.Linear(ctx.teacher_dims[0], self.feat_dim)
        stdv = 1.0 / math.sqrt(self.feat_dim / 3)
        self.register_buffer("memory_s", torch.rand(n, self.feat_dim).mul_(2 * stdv).add_(-stdv))
        self.register_buffer("memory_t", torch.rand(n, self.feat_dim).mul_(2 * stdv).add_(-stdv))
        # Normalisation constants of the NCE estimate, fixed on the first batch (as in CRD); < 0 = unset.
        self.register_buffer("z", torch.full((2,), -1.0))
        # Samples sorted by class: negatives of class c are the positions outside c's block.
        order = torch.argsort(labels, stable=True)
        counts = torch.bincount(labels, minlength=int(labels.max()) + 1)
        self.register_buffer("by_class", order, persistent=False)
        self.register_buffer("class_start", torch.cumsum(counts, 0) - counts, persistent=False)
        self.register_buffer("class_count", counts, persistent=False)
        self.bound = True

    def negatives(self, labels: torch.Tensor) -> torch.Tensor:
        """[B, nce_k] uniform draws among the samples of other classes (vectorised, O(n) memory)."""
        start, count = self.class_start[labels], self.class_count[labels]
        n = len(self.by_class)
        r = (torch.rand(len(labels), self.nce_k, device=labels.device) * (n - count)[:, None]).long()
        r = r + count[:, None] * (r >= start[:, None])  # skip over the own class's block
        return self.by_class[r]

    def nce(self, scores: torch.Tensor) -> torch.Tensor:
        """NCE loss of [B, 1 + nce_k] normalised scores, positive in column 0 (Tian et al.'s ContrastLoss)."""
        noise = self.nce_k / len(self.memory_s)
        eps = 1e-7
        log_d1 = torch.log(scores[:, 0] / (scores[:, 0] + noise + eps))
        log_d0 = torch.log(noise / (scores[:, 1:] + noise + eps))
        return -(log_d1.sum() + log_d0.sum()) / len(scores)

    def forward(self, batch: TransferBatch) -> LossOutput:
        with full_precision(batch.student):
            return self._loss(batch)

    def _loss(self, batch: TransferBatch) -> LossOutput:
        if not self.bound:
            raise GktError("crd is not bound to the transfer set (trainer): call loss.bind(LossContext) first")
        if batch.index is None:
            raise GktError("crd needs sample indices (trainer): the transfer dataset must return them")
        teacher_feats = _single_teacher_feats(batch, self.name)[0]
        v_s = F.normalize(self.embed_s(batch.student_feats.float()), dim=-1)
        v_t = F.normalize(self.embed_t(teacher_feats.float()), dim=-1)
        idx = batch.index.long()
        contrast = torch.cat([idx[:, None], self.negatives(batch.labels.long())], dim=1)  # [B, 1+k]
        # Each side's embedding is scored against the other side's memory (the critic h(t, s)).
        scores_t = torch.exp(torch.bmm(self.memory_s[contrast], v_t[:, :, None]).squeeze(-1) / self.nce_t)
        scores_s = torch.exp(torch.bmm(self.memory_t[contrast], v_s[:, :, None]).squeeze(-1) / self.nce_t)
        with torch.no_grad():
            if self.z[0] < 0:
                n = len(self.memory_s)
                self.z.copy_(torch.stack([scores_s.mean() * n, scores_t.mean() * n]))
            for memory, v in ((self.memory_s, v_s), (self.memory_t, v_t)):
                memory[idx] = F.normalize(memory[idx] * self.nce_momentum + v.detach() * (1 - self.nce_momentum), dim=-1)
        crd = self.nce(scores_s / self.z[0]) + self.nce(scores_t / self.z[1])
        xe = F.cross_entropy(batch.student.float(), batch.labels)
        return LossOutput(xe + self.beta * crd)
