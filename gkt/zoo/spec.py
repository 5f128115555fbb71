"""A zoo entry as the config writes it."""
from __future__ import annotations

from dataclasses import dataclass, field

from gkt.errors import GktError

SOURCES = ("train", "random", "timm", "file")


@dataclass(frozen=True)
class ModelSpec:
    """One model of a zoo.

    source: `train` (trained here with `recipe`), `random` (random init: the control),
    `timm` (timm pretrained weights; `arch` may carry the tag, `resnet50.a1_in1k`), or
    `file` (timm architecture + a local weights file, loaded through timm's pretrained path).
    """

    name: str
    arch: str
    source: str = "train"
    kwargs: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    file: str | None = None
    family: str | None = None
    arch_family: str | None = None
    seed: int = 0

    def __post_init__(self):
        if self.source not in SOURCES:
            raise GktError(f"model {self.name!r}: unknown source {self.source!r}; use one of {', '.join(SOURCES)}")
        if self.source == "file" and not self.file:
            raise GktError(f"model {self.name!r}: source 'file' needs a 'file:' path to its weights")
        if "__" in self.name or "/" in self.name:
            raise GktError(f"model name {self.name!r} may not contain '__' or '/': they separate pair and path parts")

    @classmethod
    def from_config(cls, entry: dict) -> "ModelSpec":
        try:
            return cls(**entry)
        except TypeError as e:
            raise GktError(f"zoo entry {entry.get('name', entry)!r}: {e}; see workflow/schemas/config.schema.yaml") from None
