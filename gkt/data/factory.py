"""A config's dataset (`get_dataset`), from the dataset registry; every module that declares a data set is
imported here, which registers it (gkt.data.registry)."""
from __future__ import annotations

import importlib

from gkt.data.base import DatasetSource
from gkt.data.checks import dataset_type
from gkt.data.registry import REGISTRY, declared_datasets
from gkt.errors import GktError

for _module in sorted(set(declared_datasets().values())):
    importlib.import_module(_module)  # registering


def list_datasets() -> list[str]:
    return sorted(REGISTRY)


def get_dataset(cfg: dict) -> DatasetSource:
    """Build the dataset described by a config `dataset:` mapping (`name`, optionally `type`, plus its
    options; gkt.data.checks.dataset_type)."""
    kind = dataset_type(cfg)
    if kind not in REGISTRY:
        key = "dataset.type" if "type" in cfg else "dataset.name"
        raise GktError(f"unknown dataset {kind!r} (config key {key}): use one of {', '.join(list_datasets())}")
    return REGISTRY[kind](cfg)
