"""What each model is fed during transfer: its own preprocessing of the same samples, and targets.

* `Views`: a dataset of (views, label, index) with one view per distinct preprocessing, so models
  sharing a transform share the tensor. With augmentation, every view of a sample replays the same
  random draw, so teacher and student see the same crop under their own normalisation.
* `Batches`: the epoch's batches in a given order — from tensors materialised once when the split is
  small and fixed (no augmentation), else through a DataLoader.
* `Targets`: teacher / frozen-student logits and teacher features per batch, either forwarded live
  or gathered from tables computed once (or read from the logits cache) and reused every epoch.
"""
from __future__ import annotations

import contextlib
import random
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from gkt.device import autocast
from gkt.errors import GktError

# Splits whose preprocessed tensors stay under this size are materialised once (mnist5k: ~16 MB).
MATERIALISE_BYTES = 1 << 30


class Views(torch.utils.data.Dataset):
    def __init__(self, base: torch.utils.data.Dataset, labels: np.ndarray, transforms: Sequence[Callable],
                 random_views: bool = False, indices: np.ndarray | None = None):
        """`base[i]` is (raw image, label) and `labels` all its labels; `indices` picks and orders
        the rows that form this set (default: all)."""
        self.base, self.transforms, self.random_views = base, list(transforms), random_views
        self.indices = np.arange(len(base)) if indices is None else np.asarray(indices)
        self.labels = torch.as_tensor(np.asarray(labels)[self.indices], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        img, label = self.base[int(self.indices[i])]
        if not self.random_views:
            return tuple(t(img) for t in self.transforms), label, i
        # One seed per item, drawn from the (epoch-seeded) global RNG: each view replays it.
        seed = int(torch.randint(0, 2**62, ()))
        views = []
        for t in self.transforms:
            with _replay(seed):
                views.append(t(img))
        return tuple(views), label, i


@contextlib.contextmanager
def _replay(seed: int):
    """Run a transform on fixed torch and `random` states (timm draws from both), then restore."""
    state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(state)


def distinct(transforms: Sequence[Callable]) -> tuple[list[Callable], list[int]]:
    """Unique transforms (by repr: timm transforms print all their parameters) and each input's slot."""
    uniq: dict[str, int] = {}
    kept, slots = [], []
    for t in transforms:
        key = repr(t)
        if key not in uniq:
            uniq[key] = len(kept)
            kept.append(t)
        slots.append(uniq[key])
    return kept, slots


class Batches:
    """Iterate (views, labels, index) batches of a `Views` set in a given sample order."""

    def __init__(self, views: Views, batch_size: int, workers: int = 0, desc: str = "views"):
        self.views, self.batch_size, self.workers, self.desc = views, batch_size, workers, desc
        self.labels = views.labels
        self.tensors: tuple[torch.Tensor, ...] | None = None
        if not views.random_views:
            first = views[0][0]
            size = len(views) * sum(v.numel() * v.element_size() for v in first)
            if size <= MATERIALISE_BYTES:
                self.tensors = self._materialise(desc)

    def __len__(self) -> int:
        return len(self.views)

    def _loader(self, order: Sequence[int] | None, batch_size: int) -> torch.utils.data.DataLoader:
        # Worker seeds come from a generator seeded by the current (epoch) seed instead of a draw
        # from the global RNG, so streaming and materialised batches leave the same RNG state.
        generator = torch.Generator().manual_seed(torch.initial_seed())
        return torch.utils.data.DataLoader(
            self.views, batch_size=batch_size, sampler=order, num_workers=self.workers,
            pin_memory=torch.cuda.is_available(), generator=generator,
        )

    def _materialise(self, desc: str) -> tuple[torch.Tensor, ...]:
        parts = [views for views, _, _ in tqdm(self._loader(None, 512), desc=f"{desc}: preprocess",
                                                 unit="batch", disable=None, leave=False)]
        return tuple(torch.cat(p) for p in zip(*parts))

    def __call__(self, order: torch.Tensor | None = None) -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]]:
        """Batches in `order` (default: dataset order)."""
        order = torch.arange(len(self)) if order is None else order
        if self.tensors is not None:
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                yield tuple(t[idx] for t in self.tensors), self.labels[idx], idx
        else:
            yield from self._loader(order.tolist(), self.batch_size)


def features_and_logits(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled pre-logit features and logits of a timm model in one forward pass."""
    if not all(hasattr(model, a) for a in ("forward_features", "forward_head", "get_classifier")):
        raise GktError(f"{type(model).__name__} is not a timm model with forward_head: feature losses (cd, crd) "
                       "need one; pick a timm architecture")
    feats = model.forward_head(model.forward_features(x), pre_logits=True)
    return feats.flatten(1), model.get_classifier()(feats)


class Targets:
    """Teacher and frozen-student outputs for a batch. `tables` (when given) hold them for every
    sample of the transfer set in index order: `teachers` [K, n, C], `frozen` [n, C],
    `teacher_feats` [K, n, D] — then no model runs; otherwise the models are forwarded."""

    def __init__(self, teachers: Sequence[nn.Module], frozen: nn.Module | None, teacher_slots: Sequence[int],
                 student_slot: int, device: torch.device, features: bool,
                 tables: dict[str, torch.Tensor] | None = None):
        self.teachers, self.frozen, self.device, self.features = list(teachers), frozen, device, features
        self.teacher_slots, self.student_slot = list(teacher_slots), student_slot
        self.tables = None if tables is None else {k: v.to(device) for k, v in tables.items()}

    @torch.no_grad()
    def __call__(self, views: Sequence[torch.Tensor], index: torch.Tensor) -> dict[str, torch.Tensor | None]:
        if self.tables is not None:
            idx = index.to(self.device)
            return {"teachers": self.tables["teachers"][:, idx], "frozen": _take(self.tables.get("frozen"), idx, 0),
                    "teacher_feats": _take(self.tables.get("teacher_feats"), idx, 1)}
        return self.forward(views)

    @torch.no_grad()
    def forward(self, views: Sequence[torch.Tensor]) -> dict[str, torch.Tensor | None]:
        logits, feats = [], []
        with autocast(self.device):
            for model, slot in zip(self.teachers, self.teacher_slots):
                x = views[slot].to(self.device, non_blocking=True)
                if self.features:
                    f, z = features_and_logits(model, x)
                    feats.append(f.float())
                else:
                    z = model(x)
                logits.append(z.float())
            frozen = None
            if self.frozen is not None:
                frozen = self.frozen(views[self.student_slot].to(self.device, non_blocking=True)).float()
        return {"teachers": torch.stack(logits), "frozen": frozen,
                "teacher_feats": torch.stack(feats) if self.features else None}

    def tabulate(self, batches: Batches, desc: str) -> dict[str, torch.Tensor]:
        """Forward the whole transfer set once (dataset order) into tables, on the CPU."""
        parts: dict[str, list[torch.Tensor]] = {}
        for views, _, _ in tqdm(batches(), desc=f"{desc}: targets", unit="batch", disable=None, leave=False):
            for key, value in self.forward(views).items():
                if value is not None:
                    parts.setdefault(key, []).append(value.cpu())
        dims = {"teachers": 1, "frozen": 0, "teacher_feats": 1}
        return {k: torch.cat(v, dim=dims[k]) for k, v in parts.items()}


def _take(table: torch.Tensor | None, idx: torch.Tensor, dim: int) -> torch.Tensor | None:
    return None if table is None else table.index_select(dim, idx)
