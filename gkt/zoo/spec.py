"""A zoo entry as the config writes it."""
from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

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


def _registered_names(path: Path) -> set[str]:
    text = path.read_text(errors="replace")
    names = set(re.findall(r"@register_model\s*\n\s*def\s+(\w+)", text))
    for block in re.findall(r"register_model_deprecations\(\s*__name__\s*,\s*\{(.*?)\}\s*\)", text, re.S):
        names.update(re.findall(r"['\"]([\w.]+)['\"]\s*:", block))
    return names


@functools.lru_cache(maxsize=1)
def known_architectures() -> frozenset[str]:
    """timm's architecture names and gkt's own, read from the `@register_model` functions of their
    source files: what `timm.list_models()` returns, in about 20 ms instead of importing timm (5 s),
    so that `snakemake -n` can check every zoo entry's `arch`."""
    spec = importlib.util.find_spec("timm")
    if spec is None or spec.origin is None:
        return frozenset()
    files = [*Path(spec.origin).parent.joinpath("models").glob("*.py"), Path(__file__).with_name("architectures.py")]
    return frozenset().union(*(_registered_names(p) for p in files))


# The first bytes of the weights formats timm's loader reads: safetensors (8-byte header length,
# then a JSON header), torch's zip format, a legacy torch pickle.
def weights_file_problem(path: str | Path) -> str | None:
    """Why `path` cannot be a weights file (None when it may be one), from its first bytes only."""
    path = Path(path)
    if not path.is_file():
        return f"weights file {path} does not exist"
    with path.open("rb") as f:
        head = f.read(9)
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80" or (len(head) == 9 and head[8:9] == b"{"):
        return None
    return f"{path} is not a weights file (neither safetensors nor a torch checkpoint)"


def zoo_problem(entries: list[dict], control: str | None = None) -> str | None:
    """The first problem of a config's `zoo:` list that is knowable without building models."""
    names = [e.get("name") for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"zoo: model name(s) {twice} appear more than once: give every zoo model a unique name"
    known = known_architectures()
    for i, entry in enumerate(entries):
        try:
            spec = ModelSpec.from_config(entry)
        except GktError as e:
            return f"zoo[{i}]: {e}"
        base = spec.arch.split(".")[0]
        if known and base not in known:
            close = sorted(n for n in known if n.startswith(base[:5]))[:5]
            return (f"zoo[{i}] ({spec.name}): unknown timm architecture {spec.arch!r}"
                    + (f"; similar names: {', '.join(close)}" if close else "") + "; see timm.list_models()")
        if spec.source == "file" and (problem := weights_file_problem(spec.file)):
            return f"zoo[{i}] ({spec.name}): {problem}; fix its 'file:' path"
    if control is not None and control not in names:
        return f"control: model {control!r} is not in the zoo: add it under zoo: or fix the name"
    return None
