"""The dataset registry, chosen by the config's `dataset.name` (or `dataset.type`), in the shape of timm's model
registry and a leaf like it: dataset modules register themselves with `@register_dataset(name)`, and
gkt.data.factory imports them and builds a config's dataset (`get_dataset`).

Adding a data set is one module in gkt/data that registers its reader: `declared_datasets` finds it in the
package's sources, so the factory imports it and `snakemake -n` knows its name without importing torch. Options
of its own go into the config schema's `dataset:` properties; a type whose config can be checked before any data
is read (folders that must exist) also gets an entry in gkt.data.checks.CHECKS.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from gkt.data.base import DatasetSource

REGISTRY: dict[str, Callable[[dict], "DatasetSource"]] = {}


def register_dataset(name: str):
    def wrap(factory):
        REGISTRY[name] = factory
        return factory

    return wrap


@functools.cache
def declared_datasets() -> dict[str, str]:
    """Data set type -> the gkt.data module that registers it, read from the package's sources (its
    `@register_dataset("<name>")` lines) rather than by importing the modules, which import torch."""
    declared = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "register_dataset"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                declared[node.args[0].value] = f"gkt.data.{path.stem}"
    return declared
