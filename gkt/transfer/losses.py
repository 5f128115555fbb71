"""Transfer objectives (docs/method.md#transfer-methods) as small registered loss modules.

Every loss is an `nn.Module` built from keyword hyperparameters and called on one `TransferBatch`;
it returns a `LossOutput` (scalar loss plus optional per-sample statistics such as the DP route).
Losses are modules so that objectives with trainable parts (CRD heads, `contrastive.py`) and
state (memory banks) share one interface and are saved in the trainer's checkpoint.

Several teachers (parallel multi-teacher transfer) arrive stacked as `teachers[K, B, C]`: plain
distillation averages the per-teacher KL terms, DP routes each sample to the most confident of
{frozen student, teachers...}.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from gkt.errors import GktError
from gkt.transfer import vocabulary as vocab

LOSSES: dict[str, type["TransferLoss"]] = {}


def register(name: str, card: vocab.MethodCard) -> Callable[[type], type]:
    """Class decorator: make a loss available as method `name` in configs, the CLI and the figures, with
    its card (hyperparameters, label, group, colour: gkt.transfer.vocabulary.MethodCard). Readers without
    torch read the cards from gkt/transfer/methods.json: rerun `python scripts/method_cards.py` after
    adding or changing one here (a test fails until then)."""

    def deco(cls: type) -> type:
        if name in LOSSES:
            raise ValueError(f"loss {name!r} registered twice")
        LOSSES[name] = cls
        cls.name, cls.card = name, card
        vocab.add_card(name, card)
        return cls

    return deco


# Hyperparameters several losses share.
TEMPERATURE = vocab.positive(1.0)
LAM = vocab.unit(1.0)
SMOOTHING = vocab.unit(0.0, high_open=True)
KL_PARAMS = {"temperature": TEMPERATURE, "lam": LAM, "smoothing": SMOOTHING}
DISTILLATION, CONTINUAL, CONTRASTIVE = "distillation", "continual learning", "contrastive"  # the paper's colour groups


@dataclasses.dataclass
class TransferBatch:
    """What one training step knows. Tensors are [B, ...] unless noted; absent inputs are None.

    `teachers` is [K, B, C] (K = 1 for single-teacher transfer), `frozen` the logits of the frozen
    initial student, `index` the samples' row numbers in the transfer set (CRD's memory bank),
    `student_feats` / `teacher_feats` pooled pre-logit features ([B, D] / [K, B, D]).
    """

    student: torch.Tensor
    teachers: torch.Tensor
    labels: torch.Tensor
    frozen: torch.Tensor | None = None
    index: torch.Tensor | None = None
    student_feats: torch.Tensor | None = None
    teacher_feats: torch.Tensor | None = None


@dataclasses.dataclass
class LossOutput:
    loss: torch.Tensor
    # DP only: [B] long, 0 = frozen student, k >= 1 = teacher k-1. Used for the routing shares.
    route: torch.Tensor | None = None


@dataclasses.dataclass(frozen=True)
class LossContext:
    """What a loss with trainable or per-sample state must know before training starts."""

    student_dim: int
    teacher_dims: tuple[int, ...]
    labels: torch.Tensor  # [n] labels of the transfer set, in `TransferBatch.index` order


class TransferLoss(nn.Module):
    """Base class; subclasses declare which batch fields they need so the trainer computes no more."""

    name: str = ""
    needs_frozen = False
    needs_features = False
    needs_index = False
    # Hyperparameters reported in metrics.parquet; losses without them report NaN.
    temperature = float("nan")
    lam = float("nan")

    def bind(self, ctx: LossContext) -> None:
        """Build parts that depend on the models and data (CRD heads, memory); most losses need none."""

    def forward(self, batch: TransferBatch) -> LossOutput:  # pragma: no cover - abstract
        raise NotImplementedError


def kl_t(target_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-sample Hinton distillation `T² · KL(σ(z_target/T) ‖ σ(z_s/T))` over the last dim."""
    # Written out rather than F.kl_div so that [K, B, C] targets broadcast against [B, C] students
    # without computing the student's log-softmax K times.
    log_p_s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    log_p_t = F.log_softmax(target_logits.float() / temperature, dim=-1)
    return temperature**2 * (log_p_t.exp() * (log_p_t - log_p_s)).sum(-1)


@register("kl", vocab.MethodCard(KL_PARAMS, "KL-Dist", DISTILLATION, "#4C72B0", order=1))
class KLDist(TransferLoss):
    """KL-Dist (Eq. 1); with `lam < 1` it becomes XE-KL (Eq. 2): `λ·L_KL + (1−λ)·L_XE`."""

    def __init__(self, temperature: float, lam: float, smoothing: float):
        super().__init__()
        self.temperature, self.lam, self.smoothing = float(temperature), float(lam), float(smoothing)

    def distill(self, batch: TransferBatch) -> LossOutput:
        """Mean over teachers and samples of the per-sample KL terms."""
        return LossOutput(kl_t(batch.teachers, batch.student, self.temperature).mean())

    def forward(self, batch: TransferBatch) -> LossOutput:
        out = self.distill(batch)
        if self.lam < 1.0:
            # XE on logits (cross_entropy applies log-softmax itself), never on probabilities.
            xe = F.cross_entropy(batch.student.float(), batch.labels, label_smoothing=self.smoothing)
            out.loss = self.lam * out.loss + (1.0 - self.lam) * xe
        return out


@register("xekl", vocab.MethodCard(
    {**KL_PARAMS, "lam": vocab.unit(0.5)}, "XE-KL-Dist", DISTILLATION, "#64B5CD", order=2,
    # XE-KL+MCL: the paper's learning rate and λ (Supp. A.1).
    mcl=vocab.MethodCard({}, "XE-KL-Dist + MCL", CONTINUAL, "#DA8BC3", order=5, lr=0.01, loss={"lam": 0.7})))
class XEKLDist(KLDist):
    """XE-KL-Dist (Eq. 2). λ = 0.5 is the most distillation-heavy value of the paper's grid."""


@register("xekl_ls", vocab.MethodCard({**KL_PARAMS, "lam": vocab.unit(0.5), "smoothing": vocab.unit(0.1, high_open=True)},
                                       "XE-KL-Dist + LS", DISTILLATION, "#8172B3", order=3))
class XEKLLabelSmoothing(XEKLDist):
    """XE-KL-Dist with a label-smoothed XE term (Yuan et al. 2020)."""


@register("kl_topk", vocab.MethodCard({**KL_PARAMS, "k": vocab.positive(10, integer=True)}, "KL-Dist top-k",
                                       DISTILLATION, "#937860", order=4))
class KLTopK(KLDist):
    """KL restricted to the teacher's k most probable classes (Supp. B.1).

    Both distributions are renormalised over those k classes, so the long tail the teacher deems
    implausible does not drive the student.
    """

    def __init__(self, temperature: float, lam: float, smoothing: float, k: int):
        super().__init__(temperature, lam, smoothing)
        self.k = int(k)

    def distill(self, batch: TransferBatch) -> LossOutput:
        num_classes = batch.student.shape[-1]
        if self.k > num_classes:
            raise GktError(f"k={self.k} exceeds the {num_classes} classes (transfer hparams kl_topk): lower k")
        top = batch.teachers.topk(self.k, dim=-1).indices  # [K, B, k]
        student = batch.student.expand_as(batch.teachers).gather(-1, top)
        teachers = batch.teachers.gather(-1, top)
        return LossOutput(kl_t(teachers, student, self.temperature).mean())


@register("kl_dp", vocab.MethodCard(KL_PARAMS, "KL-Dist + DP", CONTINUAL, "#DD8452", order=6))
class KLDataPartition(KLDist):
    """KL-Dist + DP (Eqs. 4–5): each sample distils from whichever of {frozen student, teachers}
    assigns its label the highest probability. Ties keep the student (`m_t = 1[σ_j(t) > σ_j(st)]`).

    Since the masks are one-hot, the masked sum of KL terms equals one KL against the selected
    target; computing it that way costs a single KL instead of K + 1.
    """

    needs_frozen = True

    def confidence(self, probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """[M, B, C] probabilities → [M, B] confidence: the probability of the true label."""
        return probs.gather(-1, labels.view(1, -1, 1).expand(probs.shape[0], -1, 1)).squeeze(-1)

    def distill(self, batch: TransferBatch) -> LossOutput:
        if batch.frozen is None:
            raise GktError(f"{self.name} needs the frozen student's logits (trainer): pass frozen=")
        candidates = torch.cat([batch.frozen.unsqueeze(0), batch.teachers], dim=0)  # [K+1, B, C]
        with torch.no_grad():
            # Routing uses untempered probabilities: it asks which model is right, not how soft.
            conf = self.confidence(candidates.float().softmax(-1), batch.labels)
            route = conf.argmax(0)  # first maximum → the frozen student wins ties
        target = candidates.gather(0, route.view(1, -1, 1).expand(1, -1, candidates.shape[-1])).squeeze(0)
        return LossOutput(kl_t(target, batch.student, self.temperature).mean(), route=route)


@register("kl_dp_unsup", vocab.MethodCard(KL_PARAMS, "KL-Dist + DP (unsup.)", CONTINUAL, "#C44E52", order=7))
class KLDataPartitionUnsup(KLDataPartition):
    """Unsupervised DP: confidence is each model's max probability, so no labels are needed."""

    def confidence(self, probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return probs.amax(-1)
