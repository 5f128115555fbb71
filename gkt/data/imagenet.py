"""ImageNet (or any ImageNet-labelled subset) from an ImageFolder tree: `<root>/<split>/<synset>/*.JPEG`.

Labels are indices into timm's 1,000 ImageNet classes, whatever subset of synset folders exists, so
logits of pretrained models line up with them. Class names come from timm's `ImageNetInfo`. The
reader is gkt.data.imagefolder's, with the synsets as classes; `dataset.name` (default `imagenet`)
names the data: another domain with ImageNet labels, e.g. DomainNet Infograph images in synset
folders for Supp. B.5, is `{type: imagenet, name: infograph, root: ...}`.

A split may instead be read from an ffcv `.beton` (`dataset.ffcv: {val: path.beton}`, the optional
extra `gkt[ffcv]`, see gkt.data.ffcv). `dataset.timm_results` names timm's results CSV, from which
zoo records of pretrained models take their top-1 (gkt.zoo.results_table).
"""
from __future__ import annotations

from pathlib import Path

from timm.data import ImageNetInfo

from gkt.data.imagefolder import ImageFolderData
from gkt.data.registry import register_dataset
from gkt.errors import GktError


class ImageNetFolder(ImageFolderData):
    def __init__(self, root: str | None, splits: dict[str, str], train_per_class: int | None, seed: int,
                 ffcv: dict[str, str] | None = None, timm_results: str | None = None, name: str = "imagenet"):
        info = ImageNetInfo()
        names = [info.index_to_description(i).split(",")[0].strip() for i in range(info.num_classes())]
        super().__init__(name, names, root, splits, train_per_class, seed, ffcv)
        self.timm_results = timm_results
        self.synset_to_index = {info.index_to_label_name(i): i for i in range(info.num_classes())}

    def _class_index(self, folder: Path, present: list[str]) -> dict[str, int]:
        unknown = [s for s in present if s not in self.synset_to_index]
        if unknown:
            raise GktError(
                f"{len(unknown)} folder(s) in {folder} are not ImageNet synsets (e.g. {unknown[0]!r}): "
                f"name class folders by WordNet id (n01440764 …) so labels match the models' 1,000 classes"
            )
        return {s: self.synset_to_index[s] for s in present}


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
        name=cfg.get("name", "imagenet"),
    )
