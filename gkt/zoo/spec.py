"""A zoo entry as the config writes it."""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gkt.errors import GktError

SOURCES = ("train", "random", "timm", "file", "finetune")
# Sources whose weights are made here and stored in the zoo folder (<name>.safetensors).
SAVED_HERE = ("train", "random", "finetune")
TRAINED_HERE = ("train", "finetune")
# What a `finetune` entry tunes: the classification layer (paper Supp. B.4) or the whole network (B.5).
TUNES = ("head", "all")


@dataclass(frozen=True)
class ModelSpec:
    """One model of a zoo.

    source: `train` (trained here with `recipe`), `random` (random init: the control),
    `timm` (timm pretrained weights; `arch` may carry the tag, `resnet50.a1_in1k`),
    `file` (timm architecture + a local weights file, loaded through timm's pretrained path), or
    `finetune` (gkt/zoo/finetune.py): model `base['model']` of the zoo folder `base['zoo']` (another
    data set's zoo, or this one), fine-tuned with `recipe` on `dataset` (a `dataset:` mapping; default:
    this zoo's data set), either its classification layer (`tune: head`) or all of it (`tune: all`).
    Its architecture is the base's, so a config entry names none: `resolve_bases` fills in `arch`,
    `kwargs` and `base['source']` (the source its chain of bases starts from, which decides its
    preprocessing) when the workflow is parsed, and the fine-tuning job checks them against the base.
    """

    name: str
    arch: str = ""
    source: str = "train"
    kwargs: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    file: str | None = None
    family: str | None = None
    arch_family: str | None = None
    seed: int = 0
    base: dict | None = None
    tune: str | None = None
    dataset: dict | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise GktError(f"model {self.name!r}: unknown source {self.source!r}; use one of {', '.join(SOURCES)}")
        if self.source == "file" and not self.file:
            raise GktError(f"model {self.name!r}: source 'file' needs a 'file:' path to its weights")
        if self.source == "finetune":
            base = self.base if isinstance(self.base, dict) else {}
            if not (isinstance(base.get("zoo"), str) and isinstance(base.get("model"), str)):
                raise GktError(f"model {self.name!r}: source 'finetune' needs base: {{zoo: <zoo folder>, model: <name>}} "
                               f"(e.g. base: {{zoo: results/mnist5k/zoo, model: resnet10t_a}})")
            if self.tune not in TUNES:
                raise GktError(f"model {self.name!r}: source 'finetune' needs tune: head (the classification layer) "
                               f"or tune: all (the whole network), not {self.tune!r}")
        else:
            if not self.arch:
                raise GktError(f"model {self.name!r}: give its timm architecture (arch:)")
            given = [k for k in ("base", "tune", "dataset") if getattr(self, k) is not None]
            if given:
                raise GktError(f"model {self.name!r}: {', '.join(given)} belong to source 'finetune', not {self.source!r}")
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


# timm.list_pretrained() of the timm version its first line names (scripts/timm_pretrained.py writes it;
# tests/test_bad_input.py keeps it equal to the installed timm's). Some tags are generated in code
# (qwen3_vit, deepseek_vit), so timm's source files alone cannot list them.
PRETRAINED_LIST = Path(__file__).with_name("timm_pretrained.txt")


@functools.lru_cache(maxsize=1)
def known_pretrained() -> frozenset[str]:
    """`arch.tag` names `timm.create_model` accepts: timm's pretrained tags (the shipped list, plus, under
    another timm version than the list's, the tags its source files define) and gkt's own, without
    importing timm."""
    spec = importlib.util.find_spec("timm")
    if spec is None or spec.origin is None:
        return frozenset()
    timm_dir = Path(spec.origin).parent
    installed = re.search(r"['\"](.+?)['\"]", timm_dir.joinpath("version.py").read_text()).group(1)
    lines = PRETRAINED_LIST.read_text().splitlines()
    names = {line for line in lines[1:] if line}
    files = [Path(__file__).with_name("architectures.py")]
    if lines[0].split()[-1] != installed:
        files += timm_dir.joinpath("models").glob("*.py")
    for path in files:
        names.update(re.findall(r"^\s*['\"]([\w-]+\.[\w-]+)['\"]\s*:", path.read_text(errors="replace"), re.M))
    return frozenset(names)


def tag_problem(arch: str) -> str | None:
    """Why `arch` (`name.tag`) names no pretrained config (None when it does, or has no tag)."""
    base, _, tag = arch.partition(".")
    known = known_pretrained()
    if not tag or not known or arch in known:
        return None
    tags = sorted(n.partition(".")[2] for n in known if n.partition(".")[0] == base)
    if not tags:
        return f"timm has no pretrained weights for architecture {base!r} (tag {tag!r}): drop the tag or pick another"
    shown = ", ".join(tags[:25]) + (f", ... ({len(tags)} in all)" if len(tags) > 25 else "")
    return f"unknown pretrained tag {tag!r} of {base}; its tags: {shown} (timm.list_pretrained('{base}.*'))"


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


def same_folder(a: str | Path, b: str | Path) -> bool:
    """Two zoo folders as configs write them (relative to the working directory, or absolute)."""
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))


def base_problem(specs: list[ModelSpec], zoo_dir: str | Path, where: dict[str, str]) -> str | None:
    """Fine-tuned models whose base lies in this zoo (`zoo_dir`): the base must be one of its models, and
    following bases must never come back to a model (the zoo jobs would wait on each other)."""
    by_name = {s.name: s for s in specs}
    for spec in specs:
        seen, at = [spec.name], spec
        while at.source == "finetune" and same_folder(at.base["zoo"], zoo_dir):
            model = at.base["model"]
            if model not in by_name:
                return (f"{where[at.name]} ({at.name}): base model {model!r} is not in this zoo ({zoo_dir}): "
                        f"add it under zoo: or fix base.model")
            if model in seen:
                return (f"{where[spec.name]} ({spec.name}): its bases come back to itself ({' <- '.join(seen + [model])}): "
                        f"a model cannot be fine-tuned from itself; start the chain from a model that is not fine-tuned")
            seen.append(model)
            at = by_name[model]
    return None


def origin_source(source: str, base_source: str | None) -> str:
    """The source a chain of fine-tuned models starts from (timm/file: pretrained preprocessing)."""
    return base_source if source == "finetune" and base_source else source


def resolve_bases(zoos: dict[str, list[dict]]) -> None:
    """Fill in, in place, every fine-tuned entry's architecture (`arch`, `kwargs`) and `base['source']` from
    its base: the base's entry when its zoo folder is one of `zoos` (zoo folder -> the zoo entries of the
    workflow's configs), else the base's zoo record on disk. Entries already filled in are left as they are.
    A base that is neither, or a chain of bases that comes back to itself, is a GktError."""
    def find(zoo: str, model: str, seen: frozenset) -> tuple[str, dict, str]:
        for folder, entries in zoos.items():
            if same_folder(folder, zoo):
                entry = next((e for e in entries if e.get("name") == model), None)
                if entry is None:
                    raise GktError(f"base model {model!r} is not in the zoo of {folder}: add it there or fix base.model")
                return resolve(entry, folder, seen)
        record = Path(zoo) / f"{model}.json"
        if record.is_file():
            rec = json.loads(record.read_text())
            return rec["arch"], dict(rec.get("kwargs") or {}), origin_source(rec["source"], rec.get("base_source"))
        raise GktError(f"base {zoo}/{model} is neither a zoo of this workflow's configs nor a zoo record on disk "
                       f"({record}): list the config that makes that zoo under studies:, or run it first")

    def resolve(entry: dict, folder: str, seen: frozenset) -> tuple[str, dict, str]:
        source = entry.get("source", "train")
        if source != "finetune":
            return entry["arch"], dict(entry.get("kwargs") or {}), source
        if entry.get("arch") and "source" in entry["base"]:
            return entry["arch"], dict(entry.get("kwargs") or {}), entry["base"]["source"]
        key = (os.path.normpath(folder), entry["name"])
        if key in seen:
            raise GktError(f"zoo model {entry['name']!r} of {folder}: its chain of bases comes back to itself")
        arch, kwargs, source = find(entry["base"]["zoo"], entry["base"]["model"], seen | {key})
        entry.update(arch=arch, kwargs=dict(kwargs), base={**entry["base"], "source": source})
        return arch, kwargs, source

    for folder, entries in zoos.items():
        for entry in entries:
            if entry.get("source") == "finetune":
                resolve(entry, folder, frozenset())


def zoo_problem(entries: list[dict], control: str | None = None, zoo_dir: str | Path | None = None) -> str | None:
    """The first problem of a config's `zoo:` list that is knowable without building models (`zoo_dir`:
    the zoo's folder, results/<name>/zoo, against which fine-tuned models' bases are checked)."""
    from gkt.data.checks import dataset_problem

    names = [e.get("name") for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"zoo: model name(s) {twice} appear more than once: give every zoo model a unique name"
    known = known_architectures()
    specs = []
    for i, entry in enumerate(entries):
        try:
            spec = ModelSpec.from_config(entry)
        except GktError as e:
            return f"zoo[{i}]: {e}"
        specs.append(spec)
        if spec.source == "finetune":
            if spec.dataset is not None and (problem := dataset_problem(spec.dataset)):
                return f"zoo[{i}] ({spec.name}).dataset: {problem}"
            if not spec.arch:
                continue  # its base's, filled in by resolve_bases
        base = spec.arch.split(".")[0]
        if known and base not in known:
            close = sorted(n for n in known if n.startswith(base[:5]))[:5]
            return (f"zoo[{i}] ({spec.name}): unknown timm architecture {spec.arch!r}"
                    + (f"; similar names: {', '.join(close)}" if close else "") + "; see timm.list_models()")
        if problem := tag_problem(spec.arch):
            return f"zoo[{i}] ({spec.name}): {problem}"
        if spec.source == "file" and (problem := weights_file_problem(spec.file)):
            return f"zoo[{i}] ({spec.name}): {problem}; fix its 'file:' path"
    if control is not None and control not in names:
        return f"control: model {control!r} is not in the zoo: add it under zoo: or fix the name"
    if zoo_dir is not None:
        return base_problem(specs, zoo_dir, {s.name: f"zoo[{i}]" for i, s in enumerate(specs)})
    return None
