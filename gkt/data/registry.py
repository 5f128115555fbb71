"""The dataset registry, chosen by the config's `dataset.name`, in the shape of timm's model registry."""
from __future__ import annotations

from typing import Callable

from gkt.data.base import DatasetSource
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
    """Build the dataset described by a config `dataset:` mapping (`name` plus its options)."""
    name = cfg.get("name")
    if name not in _REGISTRY:
        raise GktError(
            f"unknown dataset {name!r} (config key dataset.name): use one of {', '.join(list_datasets())}"
        )
    return _REGISTRY[name](cfg)


# Registration happens on import of each dataset module.
from gkt.data import imagenet, mnist5k  # noqa: E402,F401
