"""Any image-folder data set with its own classes: `<root>/<split>/<class>/<image>` (CUB200,
Caltech256, Stanford Cars laid out as folders; docs/method.md#experiments, paper Supp. B.4).

    dataset: {type: imagefolder, name: cub200, root: /data/cub200, splits: {train: train, val: val}}

The classes are the folders of the train split, sorted; a sample's label is its class's position in
that list, so every split of the data set (and every model made for it) shares one label space. Class
names are the folder names without a leading number and with spaces for underscores (CUB200's
`001.Black_footed_Albatross` is `Black footed Albatross`), as long as that keeps them distinct.
The data set's `name` names it everywhere (results/<name>, zoo records, logits caches). `imagenet`
(gkt/data/imagenet.py) is the same reader with ImageNet's 1,000 synsets as its classes.

A split may instead be read from an ffcv `.beton` (`dataset.ffcv: {val: path.beton}`, the optional
extra `gkt[ffcv]`, see gkt.data.ffcv): same samples, order and labels, each image still through the
model's own timm transform.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import torch.utils.data
from torchvision.datasets.folder import IMG_EXTENSIONS, default_loader, make_dataset

from gkt.data.base import DatasetSource, stratified_indices
from gkt.data.checks import check_images, class_folders, folder_classes
from gkt.data.registry import register_dataset
from gkt.errors import GktError


class ImageFiles(torch.utils.data.Dataset):
    def __init__(self, samples: list[tuple[str, int]], transform):
        self.samples, self.transform = samples, transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        try:
            img = default_loader(path)  # decodes the whole image: a damaged one fails here, not in a transform
        except (OSError, SyntaxError, ValueError) as e:  # what PIL raises for files it cannot decode
            raise image_error(path, e) from None
        return (self.transform(img) if self.transform else img), label


def image_error(path: str, error: Exception) -> GktError:
    """One line naming the image a split cannot read and the fix, instead of PIL's message alone (which
    names no file for a truncated JPEG: one among ImageNet's 50,000 val images)."""
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    if isinstance(error, OSError) and error.errno is not None:  # not a decoding problem: the file itself
        return GktError(f"image {path} cannot be read ({detail}): restore it or fix its permissions")
    return GktError(f"image {path} is truncated or corrupt (PIL: {detail}): replace or delete it")


def class_name(folder: str) -> str:
    """`001.Black_footed_Albatross` -> `Black footed Albatross`: what the text encoder of the semantic
    stage (gkt/complementary/semantic.py) should read."""
    return re.sub(r"^\d+[._-]+", "", folder).replace("_", " ").strip() or folder


class ImageFolderData(DatasetSource):
    """Splits as class folders (or .beton files); subclasses choose the classes (`_class_index`)."""

    def __init__(self, name: str, class_names: list[str], root: str | None, splits: dict[str, str],
                 train_per_class: int | None, seed: int, ffcv: dict[str, str] | None = None,
                 folders: list[str] | None = None):
        # No input_cfg: every model keeps its architecture's own timm preprocessing (RGB images of any size).
        super().__init__(name=name, class_names=class_names, in_chans=3)
        self.folders = folders or class_names  # the class folder of each label
        self.root, self.split_dirs = (Path(root) if root else None), splits
        self.train_per_class, self.seed = train_per_class, seed
        self.ffcv = dict(ffcv or {})
        self._samples: dict[str, list[tuple[str, int]]] = {}
        self._betons: dict = {}

    def _class_index(self, folder: Path, present: list[str]) -> dict[str, int]:
        """Label of every class folder of a split: its position among the data set's classes."""
        index = {c: i for i, c in enumerate(self.folders)}
        unknown = [c for c in present if c not in index]
        if unknown:
            raise GktError(
                f"{len(unknown)} class folder(s) of {folder} are not classes of the train split (e.g. {unknown[0]!r}): "
                f"every split needs the train split's class folders (or a subset of them)"
            )
        return {c: index[c] for c in present}

    def _subset(self, split: str, labels: np.ndarray) -> np.ndarray | None:
        """Indices of the seeded stratified train subset (None: the whole split)."""
        if split == "train" and self.train_per_class:
            return stratified_indices(labels, self.train_per_class, self.seed)
        return None

    def _scan(self, split: str) -> list[tuple[str, int]]:
        """(path, label) of every image of a split; only the split asked for is scanned."""
        if self.root is None:
            raise GktError(
                f"dataset.root is missing and split {split!r} has no .beton under dataset.ffcv: set dataset.root "
                f"to the folder that holds the split folders, or add dataset.ffcv.{split}"
            )
        folder = self.root / self.split_dirs[split]
        present = class_folders(folder, f"dataset.root (and dataset.splits.{split})")
        index = self._class_index(folder, present)
        check_images(folder, present)
        samples = make_dataset(str(folder), index, extensions=IMG_EXTENSIONS)
        keep = self._subset(split, np.array([label for _, label in samples]))
        if keep is not None:
            samples = [samples[i] for i in keep]
        return samples

    def _get(self, name: str) -> list[tuple[str, int]]:
        if name not in self.split_dirs:
            raise GktError(f"unknown split {name!r} of {self.name}: configure it under dataset.splits")
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


@register_dataset("imagefolder")
def _imagefolder(cfg: dict) -> ImageFolderData:
    splits = cfg.get("splits", {"train": "train", "val": "val"})
    folders = folder_classes(cfg)
    names = [class_name(f) for f in folders]
    return ImageFolderData(
        name=cfg["name"], class_names=names if len(set(names)) == len(names) else folders, root=cfg["root"],
        splits=splits, train_per_class=cfg.get("train_per_class"), seed=cfg.get("seed", 0), ffcv=cfg.get("ffcv"),
        folders=folders,
    )
