"""The dataset registry, chosen by the config's `dataset.name`, in the shape of timm's model registry."""
from __future__ import annotations

from typing import Callable

from gkt.data.base import DatasetSource
from gkt.data.checks import dataset_type
from gkt.errors import GktError

_REGISTRY: dict[str, Callable[[dict], DatasetSource]] = {}


def register_dataset(name: str):
    def wrap(factory):
        _REGISTRY[name] = factory
        return factory

    return wrap


def list_datasets() -> list[str]:
    return sorted(_REGISTRY)


def get_dataset(cfg: dict) -> DatasetSource:
    """Build the dataset described by a config `dataset:` mapping (`name`, optionally `type`, plus its
    options; gkt.data.checks.dataset_type)."""
    kind = dataset_type(cfg)
    if kind not in _REGISTRY:
        key = "dataset.type" if "type" in cfg else "dataset.name"
        raise GktError(f"unknown dataset {kind!r} (config key {key}): use one of {', '.join(list_datasets())}")
    return _REGISTRY[kind](cfg)


# Registration happens on import of each dataset module.
from gkt.data import digits, imagefolder, imagenet, mnist5k  # noqa: E402,F401
