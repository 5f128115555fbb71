"""The dataset registry, chosen by the config's `dataset.name`, in the shape of timm's model registry and a leaf
like it: dataset modules register themselves with `@register_dataset(name)`; gkt.data.factory imports them
and builds a config's dataset (`get_dataset`)."""
from __future__ import annotations

from typing import Callable

from gkt.data.base import DatasetSource

REGISTRY: dict[str, Callable[[dict], DatasetSource]] = {}


def register_dataset(name: str):
    def wrap(factory):
        REGISTRY[name] = factory
        return factory

    return wrap
