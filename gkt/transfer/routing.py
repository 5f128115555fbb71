"""How well KL+DP routes the transfer set: the shares of positive- and negative-flip samples it
distils from the teacher (docs/method.md#kl-dist-with-data-partitioning), counted during training."""
from __future__ import annotations

import math

import torch


class RoutingShares:
    """DP assignment quality on the transfer data: the share of positive-flip samples routed to a
    teacher and of negative-flip samples (counted on device over the epochs a metrics row covers, read
    once per row)."""

    def __init__(self, device: torch.device):
        self.counts = torch.zeros(4, dtype=torch.long, device=device)

    def update(self, route: torch.Tensor, teachers: torch.Tensor, frozen: torch.Tensor, labels: torch.Tensor) -> None:
        teacher_right = (teachers.argmax(-1) == labels).any(0)
        student_right = frozen.argmax(-1) == labels
        pos, neg, to_teacher = teacher_right & ~student_right, ~teacher_right & student_right, route > 0
        self.counts += torch.stack([pos.sum(), (pos & to_teacher).sum(), neg.sum(), (neg & to_teacher).sum()])

    def shares(self) -> tuple[float, float]:
        pos, pos_t, neg, neg_t = self.counts.tolist()
        return (pos_t / pos if pos else math.nan), (neg_t / neg if neg else math.nan)
