"""What each model is fed during transfer: its own preprocessing of the same samples, and targets.

* `Views`: a dataset of (views, label, index) with one view per distinct preprocessing, so models
  sharing a transform share the tensor. With augmentation, every view of a sample replays the same
  random draw, so teacher and student see the same crop under their own normalisation.
* `Batches`: the epoch's batches in a given order. Without augmentation each sample's images are
  decoded once: timm eval transforms split into geometry and normalisation (gkt.zoo.transforms), the
  resized uint8 images of each distinct geometry are kept (in memory up to MATERIALISE_BYTES, else in
  a memory-mapped file of the input cache) and normalised per batch, bit-identical to transforming
  each image every epoch. With augmentation (or transforms that do not split) batches stream
  through a DataLoader, decoding every epoch.
* `Targets`: teacher / frozen-student logits and teacher features per batch, either forwarded live
  or gathered from tables computed once (or read from the logits cache) and reused every epoch.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from gkt.device import autocast
from gkt.errors import GktError
from gkt.io import atomic_path, write_text
from gkt.zoo.transforms import Normalise, split_eval

log = logging.getLogger(__name__)

# Decoded images up to this size stay in memory (mnist5k's transfer set: 0.8 MB of uint8); larger sets
# (130,000 ImageNet images at 224 px: 19.6 GB) go to a memory-mapped file in the input cache.
# $GKT_INPUT_MEMORY_BYTES overrides it: 0 sends every set to the file, ImageNet's path, as the rehearsal
# (tests/test_rehearsal.py) does with a few images.
MATERIALISE_BYTES = int(os.environ.get("GKT_INPUT_MEMORY_BYTES", 1 << 30))
# Where the input cache lives (default: <tmp>/gkt-inputs). Files are keyed by content (the images'
# files and their sizes and times, the selected rows, the geometry), so runs on the same machine
# that feed the same images at the same geometry (every run of a student) decode them once.
INPUT_CACHE_ENV = "GKT_INPUT_CACHE"


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


class Images:
    """The uint8 images [n, C, H, W] of a set at one geometry, decoded once: a tensor in memory, or a
    read-only memory map of a file in the input cache."""

    def __init__(self, data: torch.utils.data.Dataset, first: torch.Tensor, workers: int, desc: str,
                 memory_bytes: int, key: str | None, cache_dir: str | os.PathLike | None):
        """`first`: the first image (read already, to check it is uint8), for the shape."""
        self.shape = (len(data), *first.shape)
        size = int(np.prod(self.shape))
        self.array: np.ndarray | torch.Tensor
        if size <= memory_bytes:
            self.array = torch.empty(self.shape, dtype=torch.uint8)
            self._fill(self.array, data, workers, desc)
            return
        folder = Path(cache_dir or os.environ.get(INPUT_CACHE_ENV) or Path(tempfile.gettempdir()) / "gkt-inputs")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key or 'run-' + os.urandom(8).hex()}.u8"
        header = path.with_suffix(".json")
        if key and header.exists() and json.loads(header.read_text()).get("shape") == list(self.shape):
            log.info("%s: %d decoded images reused from the input cache %s", desc, len(data), path)
        else:
            if shutil.disk_usage(folder).free < size * 1.05:
                raise GktError(f"{folder} has {shutil.disk_usage(folder).free / 1e9:.1f} GB free, the decoded transfer "
                               f"images need {size / 1e9:.1f} GB: point {INPUT_CACHE_ENV} at a larger disk")
            with atomic_path(path) as tmp:
                out = np.memmap(tmp, dtype=np.uint8, mode="w+", shape=self.shape)
                self._fill(torch.from_numpy(out), data, workers, desc)
                out.flush()
                del out
            write_text(json.dumps({"shape": list(self.shape)}), header)  # last: its presence means complete
            log.info("%s: %d images decoded once into the input cache %s (%.1f GB)", desc, len(data), path, size / 1e9)
            if key is None:  # nothing else can find it: it goes with this set
                weakref.finalize(self, _remove, path, header)
        self.array = np.memmap(path, dtype=np.uint8, mode="r", shape=self.shape)

    @staticmethod
    def _fill(out: torch.Tensor, data: torch.utils.data.Dataset, workers: int, desc: str) -> None:
        loader = torch.utils.data.DataLoader(data, batch_size=256, num_workers=workers,
                                             generator=torch.Generator().manual_seed(torch.initial_seed()))
        start = 0
        for x, _ in tqdm(loader, desc=f"{desc}: decode", unit="batch", disable=None, leave=False):
            out[start:start + len(x)] = x
            start += len(x)

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        if isinstance(self.array, torch.Tensor):
            return self.array[idx]
        return torch.from_numpy(self.array[idx.numpy()])


def _remove(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def content_key(views: Views, geometry: Callable) -> str | None:
    """A key of the images a geometry makes from a set, without decoding them: the source files (or
    .beton) with their sizes and modification times, the rows, the geometry. None for sources that
    name no files (in-memory arrays: small enough to stay in memory anyway)."""
    base = views.base
    h = hashlib.sha256(f"{type(base).__name__}|{geometry!r}|".encode())
    h.update(np.ascontiguousarray(views.indices, dtype=np.int64).tobytes())
    if hasattr(base, "samples"):  # gkt.data.imagefolder.ImageFiles: (path, label) per sample
        for i in views.indices:
            path, label = base.samples[int(i)]
            st = os.stat(path)
            h.update(f"{path}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    elif hasattr(base, "path") and hasattr(base, "indices"):  # gkt.data.ffcv.BetonImages
        st = os.stat(base.path)
        h.update(f"{Path(base.path).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
        h.update(np.ascontiguousarray(base.indices, dtype=np.int64).tobytes())
    else:
        return None
    return h.hexdigest()[:24]


class _Geometry(torch.utils.data.Dataset):
    """(uint8 image at one geometry, label) of a `Views` set's rows."""

    def __init__(self, views: Views, geometry: Callable):
        self.views, self.geometry = views, geometry

    def __len__(self) -> int:
        return len(self.views)

    def __getitem__(self, i: int):
        img, label = self.views.base[int(self.views.indices[i])]
        return self.geometry(img), label


class Batches:
    """Iterate (views, labels, index) batches of a `Views` set in a given sample order."""

    def __init__(self, views: Views, batch_size: int, workers: int = 0, desc: str = "views",
                 memory_bytes: int = MATERIALISE_BYTES, cache_dir: str | os.PathLike | None = None):
        """`memory_bytes`: decoded images up to this size stay in memory, larger ones go to the input
        cache (`cache_dir`, default $GKT_INPUT_CACHE or <tmp>/gkt-inputs)."""
        self.views, self.batch_size, self.workers, self.desc = views, batch_size, workers, desc
        self.labels = views.labels
        self.tensors: tuple[torch.Tensor, ...] | None = None
        self.images: list[Images] | None = None
        if not views.random_views:
            parts = [split_eval(t) for t in views.transforms]
            if all(parts) and self._decoded(parts, memory_bytes, cache_dir):
                return
            first = views[0][0]
            size = len(views) * sum(v.numel() * v.element_size() for v in first)
            if size <= memory_bytes:
                self.tensors = self._materialise(desc)

    def _decoded(self, parts: list[tuple[Callable, Normalise]], memory_bytes: int, cache_dir) -> bool:
        """Keep each distinct geometry's uint8 images once; False when they are not uint8 images."""
        stores: dict[str, int] = {}
        self.images, self.slots, self.norms = [], [], []
        for geometry, norm in parts:
            key = repr(geometry)
            if key not in stores:
                data = _Geometry(self.views, geometry)
                x = data[0][0]
                if not (isinstance(x, torch.Tensor) and x.dtype == torch.uint8):
                    self.images = None
                    return False
                stores[key] = len(self.images)
                self.images.append(Images(data, x, self.workers, self.desc, memory_bytes,
                                          content_key(self.views, geometry), cache_dir))
            self.slots.append(stores[key])
            self.norms.append(norm)
        return True

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
        if self.images is not None:
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                raw = {}
                for slot in set(self.slots):
                    raw[slot] = self.images[slot][idx]
                yield tuple(norm(raw[slot]) for slot, norm in zip(self.slots, self.norms)), self.labels[idx], idx
        elif self.tensors is not None:
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                yield tuple(t[idx] for t in self.tensors), self.labels[idx], idx
        else:
            yield from self._loader(order.tolist(), self.batch_size)


def features_and_logits(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled pre-logit features and logits of a timm model from one pass of its trunk. The logits come
    from the model's own head (`forward_head`), which may do more than its classifier layer (distilled
    heads average two classifiers, VOLO adds an auxiliary token head), so they equal `model(x)`."""
    if not all(hasattr(model, a) for a in ("forward_features", "forward_head")):
        raise GktError(f"{type(model).__name__} is not a timm model with forward_head: feature losses (cd, crd) "
                       "need one; pick a timm architecture")
    trunk = model.forward_features(x)
    return model.forward_head(trunk, pre_logits=True).flatten(1), model.forward_head(trunk)


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
