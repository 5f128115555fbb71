"""MCL: momentum weight interpolation (Stojanovski et al. 2022; paper Eq. 3), combinable with any loss.

The optimizer trains the fast weights; every `every` optimizer steps the slow copy moves towards them,
`θ_slow ← τ·θ_slow + (1−τ)·θ_fast`. The slow weights are the transferred model: they are what the
trainer evaluates, saves and hands on. The slow copy owns its own tensors (a deep copy), so no
in-place optimizer update can leak into it.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from gkt.errors import GktError


class MCL:
    def __init__(self, model: nn.Module, tau: float, every: int):
        if not 0.0 <= tau <= 1.0 or every < 1:
            raise GktError(f"MCL needs 0 <= tau <= 1 and every >= 1, got tau={tau}, every={every} "
                           "(transfer hparams): the paper uses tau=0.9999, every=2")
        self.fast = model
        self.slow = copy.deepcopy(model).eval().requires_grad_(False)
        self.tau, self.every, self.steps = float(tau), int(every), 0

    def _pairs(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[tuple[torch.Tensor, torch.Tensor]]]:
        """(slow floats, fast floats, other (slow, fast) pairs) — BN statistics are interpolated too,
        integer buffers such as batch counters are copied."""
        slow_f, fast_f, other = [], [], []
        slow_t = [*self.slow.parameters(), *self.slow.buffers()]
        fast_t = [*self.fast.parameters(), *self.fast.buffers()]
        for s, f in zip(slow_t, fast_t, strict=True):
            if s.is_floating_point():
                slow_f.append(s)
                fast_f.append(f.detach())
            else:
                other.append((s, f))
        return slow_f, fast_f, other

    @torch.no_grad()
    def step(self) -> None:
        """Call after every optimizer step."""
        self.steps += 1
        if self.steps % self.every:
            return
        slow_f, fast_f, other = self._pairs()
        # Two rounded products then a sum: bit-for-bit the formula, which a fused add(alpha=) is not.
        torch._foreach_mul_(slow_f, self.tau)
        torch._foreach_add_(slow_f, torch._foreach_mul(fast_f, 1.0 - self.tau))
        for s, f in other:
            s.copy_(f)

    def state_dict(self) -> dict:
        return {"slow": self.slow.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.slow.load_state_dict(state["slow"])
        self.steps = int(state["steps"])
