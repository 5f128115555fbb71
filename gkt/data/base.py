"""What every dataset offers the pipeline: class names, splits, labels."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch.utils.data
from PIL import Image

SPLITS = ("train", "val")


@dataclass
class DatasetSource:
    """A labelled image dataset with a `train` (transfer) and a `val` (evaluation) split.

    `input_cfg` is the timm pretrained-cfg fragment (input_size, mean, std, crop_pct,
    interpolation) that models trained here on this data are given, so that timm's
    `resolve_data_config` builds their transform like for any pretrained model.
    """

    name: str
    class_names: list[str]
    in_chans: int
    input_cfg: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str, transform: Callable | None = None) -> torch.utils.data.Dataset:
        raise NotImplementedError

    def labels(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def sample_ids(self, name: str) -> Sequence:
        """What identifies each sample of a split, in split order (row numbers of the source data,
        file paths relative to the split folder, ...): with the labels, what `samples_key` hashes."""
        raise NotImplementedError

    def samples_key(self, name: str, indices: np.ndarray | None = None) -> str:
        """A content key of a split (or of its rows `indices`): the data set's name, the samples'
        ids and labels. Caches, zoo records and transfer checkpoints record it, and their readers
        refuse state made from other samples. Pixels are not hashed (that would read every image)."""
        ids, labels = np.asarray(self.sample_ids(name)), self.labels(name)
        if indices is not None:
            ids, labels = ids[indices], labels[indices]
        h = hashlib.sha256(f"{self.name}/{name}/{len(ids)}".encode())
        h.update("\n".join(map(str, ids.tolist())).encode())
        h.update(np.asarray(labels, dtype=np.int64).tobytes())
        return h.hexdigest()[:16]


class ArrayImages(torch.utils.data.Dataset):
    """Images held in memory as uint8 arrays, served as PIL images through a model's transform."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable | None):
        # uint8 [n, H, W] arrays become mode "L" images, [n, H, W, 3] become "RGB".
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        img = Image.fromarray(self.images[i])
        return (self.transform(img) if self.transform else img), int(self.labels[i])


class ArraySplits(DatasetSource):
    """A data set held in memory: `_load()` returns its images (uint8 arrays) and labels, split here into
    a seeded stratified val split of `val_per_class` images per class and a train split of the rest,
    permuted by the seed so that train batches mix classes even without a shuffling loader. Sample ids
    are row numbers of the source data."""

    seed: int = 0
    val_per_class: int = 100

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @functools.cached_property
    def _arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        images, y = self._load()
        val = stratified_indices(y, self.val_per_class, self.seed)
        train = np.random.default_rng(self.seed).permutation(np.setdiff1d(np.arange(len(y)), val))
        return {s: (images[i], y[i].astype(np.int64), i) for s, i in (("train", train), ("val", val))}

    def _get(self, name: str):
        from gkt.errors import GktError

        if name not in self._arrays:
            raise GktError(f"unknown split {name!r} of {self.name}: use 'train' or 'val'")
        return self._arrays[name]

    def split(self, name, transform=None):
        images, labels, _ = self._get(name)
        return ArrayImages(images, labels, transform)

    def labels(self, name):
        return self._get(name)[1]

    def sample_ids(self, name):
        return self._get(name)[2]


def stratified_indices(labels: np.ndarray, per_class: int | Sequence[int], seed: int) -> np.ndarray:
    """Seeded choice of `per_class` samples of every class; returned sorted so order is stable."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = per_class if isinstance(per_class, int) else per_class[c]
        chosen.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    return np.sort(np.concatenate(chosen))
