"""The metadata of a zoo entry, `<zoo_dir>/<name>.json` (gkt.zoo.store writes and reads it).

Kept torch-free: the results database (gkt.db.build) derives the columns of its `models` view
from these fields."""
from __future__ import annotations

from dataclasses import dataclass, field

from gkt.zoo.spec import ModelSpec


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
    # DatasetSource.samples_key of the train split a model was trained on (models trained here).
    train_samples: str | None = None

    def spec(self) -> ModelSpec:
        return ModelSpec(
            name=self.name, arch=self.arch, source=self.source, kwargs=self.kwargs, recipe=self.recipe,
            file=self.file, family=self.family, arch_family=self.arch_family, seed=self.seed,
        )
