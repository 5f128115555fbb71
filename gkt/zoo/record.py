"""The metadata of a zoo entry, `<zoo_dir>/<name>.json` (gkt.zoo.store writes and reads it).

Kept torch-free: the results database (gkt.db.build) derives the columns of its `models` view
from these fields."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gkt.zoo.spec import ModelSpec


def record_path(zoo_dir: str | os.PathLike, name: str) -> Path:
    """Where zoo model `name`'s record lives; torch-free, for the parse-time readers too."""
    return Path(zoo_dir) / f"{name}.json"


@dataclass
class ModelRecord:
    name: str
    arch: str
    source: str
    family: str
    arch_family: str
    params: int
    num_classes: int
    dataset: str
    weights_hash: str
    top1: float | None = None  # on the val split, 0..1: measured here, or timm's results table
    kwargs: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    seed: int = 0
    train_seconds: float | None = None
    file: str | None = None
    # DatasetSource.samples_key of the train split a model was trained (or fine-tuned) on.
    train_samples: str | None = None
    # Fine-tuned models (source 'finetune', gkt/zoo/finetune.py): the model they started from (its zoo
    # folder, name, source, data set and weights hash when it was read) and what was tuned ('head' or
    # 'all'); `dataset` above is the data set it was fine-tuned on.
    base_zoo: str | None = None
    base_model: str | None = None
    base_source: str | None = None
    base_dataset: str | None = None
    base_weights_hash: str | None = None
    tune: str | None = None

    def spec(self) -> ModelSpec:
        base = ({"zoo": self.base_zoo, "model": self.base_model, "source": self.base_source}
                if self.source == "finetune" else None)
        return ModelSpec(
            name=self.name, arch=self.arch, source=self.source, kwargs=self.kwargs, recipe=self.recipe,
            file=self.file, family=self.family, arch_family=self.arch_family, seed=self.seed,
            base=base, tune=self.tune,
        )
