"""A config's dataset (`get_dataset`), from the dataset registry; every dataset module is imported here,
which registers it (gkt.data.registry)."""
from __future__ import annotations

from gkt.data import digits, imagefolder, imagenet, mnist5k  # noqa: F401  (registering)
from gkt.data.base import DatasetSource
from gkt.data.checks import dataset_type
from gkt.data.registry import REGISTRY
from gkt.errors import GktError


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
