"""ImageNet (or any ImageNet-labelled subset) from an ImageFolder tree: `<root>/<split>/<synset>/*.JPEG`.

Labels are indices into timm's 1,000 ImageNet classes, whatever subset of synset folders exists, so
logits of pretrained models line up with them. Class names come from timm's `ImageNetInfo`.

A split may instead be read from an ffcv `.beton` (`dataset.ffcv: {val: path.beton}`, the optional
extra `gkt[ffcv]`, see gkt.data.ffcv): same samples, order and labels, each image still through the
model's own timm transform. `dataset.timm_results` names timm's results CSV, from which zoo records
of pretrained models take their top-1 (gkt.zoo.results_table).
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch.utils.data
from timm.data import ImageNetInfo
from torchvision.datasets.folder import IMG_EXTENSIONS, default_loader, make_dataset

from gkt.data.registry import register_dataset
from gkt.data.base import DatasetSource, stratified_indices
from gkt.data.checks import check_images, class_folders
from gkt.errors import GktError


class ImageFiles(torch.utils.data.Dataset):
    def __init__(self, samples: list[tuple[str, int]], transform):
        self.samples, self.transform = samples, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        img = default_loader(path)
        return (self.transform(img) if self.transform else img), label


class ImageNetFolder(DatasetSource):
    def __init__(self, root: str | None, splits: dict[str, str], train_per_class: int | None, seed: int,
                 ffcv: dict[str, str] | None = None, timm_results: str | None = None):
        info = ImageNetInfo()
        names = [info.index_to_description(i).split(",")[0].strip() for i in range(info.num_classes())]
        super().__init__(name="imagenet", class_names=names, in_chans=3)
        self.root, self.split_dirs = (Path(root) if root else None), splits
        self.train_per_class, self.seed = train_per_class, seed
        self.ffcv = dict(ffcv or {})
        self.timm_results = timm_results
        self.synset_to_index = {info.index_to_label_name(i): i for i in range(info.num_classes())}
        self._samples: dict[str, list[tuple[str, int]]] = {}
        self._betons: dict = {}

    def _subset(self, split: str, labels: np.ndarray) -> np.ndarray | None:
        """Indices of the seeded stratified train subset (None: the whole split)."""
        if split == "train" and self.train_per_class:
            return stratified_indices(labels, self.train_per_class, self.seed)
        return None

    def _scan(self, split: str) -> list[tuple[str, int]]:
        """(path, ImageNet index) of every image of a split; only the split asked for is scanned."""
        if self.root is None:
            raise GktError(
                f"dataset.root is missing and split {split!r} has no .beton under dataset.ffcv: set dataset.root "
                f"to the ImageNet folder that holds the split folders, or add dataset.ffcv.{split}"
            )
        folder = self.root / self.split_dirs[split]
        present = class_folders(folder, f"dataset.root (and dataset.splits.{split})")
        unknown = [s for s in present if s not in self.synset_to_index]
        if unknown:
            raise GktError(
                f"{len(unknown)} folder(s) in {folder} are not ImageNet synsets (e.g. {unknown[0]!r}): "
                f"name class folders by WordNet id (n01440764 …) so labels match the models' 1,000 classes"
            )
        check_images(folder, present)
        samples = make_dataset(
            str(folder), {s: self.synset_to_index[s] for s in present}, extensions=IMG_EXTENSIONS
        )
        keep = self._subset(split, np.array([label for _, label in samples]))
        if keep is not None:
            samples = [samples[i] for i in keep]
        return samples

    def _get(self, name: str) -> list[tuple[str, int]]:
        if name not in self.split_dirs:
            raise GktError(f"unknown split {name!r} of imagenet: configure it under dataset.splits")
        if name not in self._samples:
            self._samples[name] = self._scan(name)
        return self._samples[name]

    def _beton(self, name: str):
        """The split's .beton reader (no transform), with the train subset applied like on the folder:
        the file holds the split in ImageFolder order, so the same seed picks the same images."""
        if name not in self._betons:
            from gkt.data.ffcv import BetonImages

            beton = BetonImages(self.ffcv[name])
            beton.indices = self._subset(name, beton.all_labels)
            if beton.indices is None:
                beton.indices = np.arange(len(beton.all_labels))
            self._betons[name] = beton
        return self._betons[name]

    def split(self, name, transform=None):
        if name in self.ffcv:
            beton = copy.copy(self._beton(name))
            beton.transform = transform
            return beton
        return ImageFiles(self._get(name), transform)

    def labels(self, name):
        if name in self.ffcv:
            return self._beton(name).labels
        return np.array([label for _, label in self._get(name)], dtype=np.int64)

    def sample_ids(self, name):
        """Image paths relative to the split folder; for a .beton, its file name and row numbers."""
        if name in self.ffcv:
            beton = self._beton(name)
            return [f"{beton.path.name}:{i}" for i in beton.indices]
        folder = self.root / self.split_dirs[name]
        return [str(Path(path).relative_to(folder)) for path, _ in self._get(name)]


@register_dataset("imagenet")
def _imagenet(cfg: dict) -> ImageNetFolder:
    if "root" not in cfg and not cfg.get("ffcv"):
        raise GktError("dataset.root is missing: set it to the ImageNet folder that holds train/ and val/")
    return ImageNetFolder(
        root=cfg.get("root"),
        splits=cfg.get("splits", {"train": "train", "val": "val"}),
        train_per_class=cfg.get("train_per_class"),
        seed=cfg.get("seed", 0),
        ffcv=cfg.get("ffcv"),
        timm_results=cfg.get("timm_results"),
    )
