"""Checks of a config's `dataset:` mapping that need no data loaded and no torch: `snakemake -n`
runs them, so a missing folder fails before any job starts. The dataset modules run the same
checks again when they read the data."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from gkt.data.registry import declared_datasets
from gkt.errors import GktError

# torchvision's IMG_EXTENSIONS (tests/test_data.py keeps them equal), without importing torchvision.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def class_folders(folder: Path, what: str) -> list[str]:
    """The class sub-folders of an image-folder split (`what`: the config key that names it)."""
    if not folder.is_dir():
        raise GktError(f"image folder {folder} does not exist: set {what} to a folder holding one sub-folder per class")
    present = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not present:
        raise GktError(f"image folder {folder} has no class folders: expected {folder}/<class>/<image>")
    return present


def check_images(folder: Path, present: list[str]) -> None:
    """Each class folder holds at least one image (stops at the first image found)."""
    empty = [c for c in present
             if not any(f.suffix.lower() in IMG_EXTENSIONS and f.is_file() for f in (folder / c).iterdir())]
    if empty:
        raise GktError(
            f"{len(empty)} class folder(s) in {folder} hold no images (e.g. {empty[0]!r}; image files end in "
            f"{', '.join(IMG_EXTENSIONS)}): add their images or remove the empty folders"
        )


def folder_classes(cfg: dict) -> list[str]:
    """The classes of an `imagefolder` data set: the class folders of its train split, sorted."""
    if "root" not in cfg:
        raise GktError(f"dataset.root is missing (dataset {cfg.get('name')!r}, type imagefolder): set it to the "
                       f"folder that holds the split folders; the train split's class folders name the classes")
    train = cfg.get("splits", {"train": "train", "val": "val"}).get("train", "train")
    return class_folders(Path(cfg["root"]) / train, "dataset.root (and dataset.splits.train)")


def _image_folders(cfg: dict) -> None:
    splits = cfg.get("splits", {"train": "train", "val": "val"})
    ffcv = cfg.get("ffcv") or {}
    for split, path in ffcv.items():
        if not Path(path).is_file():
            raise GktError(f"dataset.ffcv.{split}: {path} does not exist: write it with `gkt write-beton` or fix the path")
    missing = [s for s in ("train", "val") if s not in splits and s not in ffcv]
    if missing:
        raise GktError(f"dataset.splits lacks {missing}: name the folder of each split under dataset.splits")
    if "root" not in cfg and any(s not in ffcv for s in splits):
        raise GktError("dataset.root is missing: set it to the folder that holds the split folders")
    for split, sub in splits.items():
        if split not in ffcv:
            folder = Path(cfg["root"]) / sub
            check_images(folder, class_folders(folder, f"dataset.root (and dataset.splits.{split})"))


def _own_classes(cfg: dict) -> None:
    """An image-folder data set with its own classes: the folders, and every split's classes among the train
    split's (the labels are positions in that list)."""
    classes = set(folder_classes(cfg))
    _image_folders(cfg)
    for split, sub in cfg.get("splits", {"train": "train", "val": "val"}).items():
        folder = Path(cfg["root"]) / sub
        extra = sorted(set(class_folders(folder, f"dataset.splits.{split}")) - classes)
        if extra:
            raise GktError(f"{len(extra)} class folder(s) of {folder} are not in the train split (e.g. {extra[0]!r}): "
                           f"the train split's class folders are the data set's classes; add them there or remove them")


# The data set types whose config can be checked before any data is read (the embedded ones ship in wheels:
# nothing to check). Every type is a module of gkt/data that registers its reader (gkt.data.registry).
CHECKS: dict[str, Callable[[dict], None]] = {"imagenet": _image_folders, "imagefolder": _own_classes}


def dataset_type(cfg: dict) -> str | None:
    """Which reader a `dataset:` mapping asks for: `type`, else its `name` (the embedded data sets and
    imagenet are named like their type)."""
    return cfg.get("type", cfg.get("name"))


def dataset_problem(cfg: dict) -> str | None:
    kind = dataset_type(cfg)
    if kind not in declared_datasets():
        key = "dataset.type" if "type" in cfg else "dataset.name"
        return (f"unknown dataset {kind!r} (config key {key}): use one of {', '.join(sorted(declared_datasets()))}"
                + ("" if "type" in cfg else ", or give your data set's type under dataset.type "
                                            "(imagefolder: any folder of class folders)"))
    if kind == "imagefolder" and not cfg.get("name"):
        return "dataset.name is missing: an imagefolder data set needs a name (results/<name>, zoo records, caches)"
    try:
        CHECKS.get(kind, lambda cfg: None)(cfg)
    except GktError as e:
        return str(e)
    return None
