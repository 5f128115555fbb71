"""Logits groups: zoo models with the same geometric preprocessing share one logits job, which decodes
and resizes each image once and normalises it per model (gkt.logits.compute.cache_group).

How the workflow uses them (workflow/rules/logits.smk), torch-free so that `snakemake -n` stays fast:

* `logits/geometry.json` (Snakemake checkpoint `logits_geometry`, `gkt logits-geometry`): every zoo
  model's geometry key (gkt.zoo.transforms.geometry_key), computed with timm from the config alone.
  While the file holds a model's current entry the workflow reads it directly; only new or changed
  models send it through the checkpoint.
* Groups: per split, the models that need that split's cache, in config order; the models of one
  geometry are cut into consecutive groups of at most `logits.group_size`. A model's group depends
  only on the models before it, so appending models to the zoo never moves an existing model.
* `logits/<split>/groups/<group>.json` (rule `logits_group`, `gkt logits-group`): the group job. It
  computes every member whose cache is not current (see `current`) into
  `logits/<split>/groups/<group>/<model>.parquet` and lists it in this manifest.
* `logits/<split>/<model>.parquet` (rule `logits`, `gkt logits --shared <manifest>`): moves the
  model's staged cache into place (no torch import), or computes the model alone when nothing was
  staged for it (its group job found it current, or ran for other weights or settings). Its job
  depends on the manifest as an ancient input while its cache is current (`restaged`): a group rerun
  for another member leaves it alone. A job it stages for must depend on the manifest plainly:
  Snakemake 9 skips the own rerun reasons (changed record, settings, missing cache) of every job
  downstream of a job that reruns, and follows only the plain edges from it.

A cache is current for a group job when it records the request key of the per-model job (dataset,
split, evaluation size, batch size, workers, weights) and is newer than the model's zoo record: the
conditions under which Snakemake leaves the per-model job alone.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable

from gkt.errors import GktError

log = logging.getLogger(__name__)

# Zoo entry keys that cannot change a model's preprocessing: a change to them does not rerun the
# geometry checkpoint (which would put every logits job of a dry run behind it).
NOT_GEOMETRY = ("name", "recipe", "seed", "family", "arch_family")


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def geometry_inputs(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k not in NOT_GEOMETRY}


def spec_key(entry: dict, dataset: dict, eval_size: str) -> str:
    """What a model's geometry is computed from: its zoo entry (less NOT_GEOMETRY), the data set and the
    evaluation size. The geometry table records it; an entry whose key differs is recomputed."""
    return digest({"entry": geometry_inputs(entry), "dataset": digest(dataset), "eval_size": eval_size})


def request_key(dataset: dict, split: str, eval_size: str, batch_size: int, workers: int, weights_hash: str) -> str:
    """What a per-model logits job is asked to compute; its cache records it (metadata `request`)."""
    return digest({"dataset": dataset, "split": split, "eval_size": eval_size, "batch_size": batch_size,
                   "workers": workers, "weights": weights_hash})


def staged_path(manifest: str | os.PathLike, model: str) -> Path:
    manifest = Path(manifest)
    return manifest.with_suffix("") / f"{model}.parquet"


def record_weights(zoo_dir: str | os.PathLike, model: str) -> tuple[str, float] | None:
    """(weights hash, modification time) of a zoo record, None when it is missing or unreadable."""
    from gkt.zoo.record import record_path

    path = record_path(zoo_dir, model)
    try:
        return json.loads(path.read_text())["weights_hash"], path.stat().st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return None


def current(path: str | os.PathLike, request: str, record_mtime: float) -> bool:
    """Whether the cache at `path` answers `request` and is newer than the model's zoo record."""
    from gkt.logits.cache import read_meta

    path = Path(path)
    meta = read_meta(path)
    return meta is not None and meta.get("request") == request and path.stat().st_mtime >= record_mtime


def take_staged(manifest: str | os.PathLike, model: str, request: str, out: str | os.PathLike) -> bool:
    """Move the cache the group job staged for `model` to `out` if it answers `request`."""
    from gkt.logits.cache import move_cache, read_meta

    try:
        entry = json.loads(Path(manifest).read_text())["models"].get(model, {})
    except (OSError, ValueError, KeyError, AttributeError):
        log.warning("logits group manifest %s is unreadable: computing %s alone", manifest, model)
        return False
    staged = staged_path(manifest, model)
    if entry.get("status") != "staged" or not staged.exists():
        log.info("%s: nothing staged in %s (%s): computing it alone", model, manifest, entry.get("status", "not listed"))
        return False
    meta = read_meta(staged)
    if meta is None or meta.get("request") != request:
        log.info("%s: the cache staged in %s was made for other weights or settings: computing it alone", model, manifest)
        return False
    move_cache(staged, out)
    log.info("%s: cache computed by logits group %s -> %s", model, Path(manifest).stem, out)
    return True


def write_manifest(path: str | os.PathLike, group: str, status: dict[str, str]) -> Path:
    from gkt.io import write_json

    return write_json({"group": group, "models": {m: {"status": s} for m, s in status.items()}}, path)


def chunk(members: list[str], keys: dict[str, str], size: int) -> dict[str, str]:
    """Group id of each member: its geometry key and the index of its run of `size` in config order."""
    if size < 1:
        raise GktError(f"logits.group_size must be >= 1, got {size}")
    seen: dict[str, int] = {}
    groups = {}
    for m in members:
        k = keys[m]
        groups[m] = f"{k}-g{seen.get(k, 0) // size}"
        seen[k] = seen.get(k, 0) + 1
    return groups


class GroupPlan:
    """The workflow's view of the groups: `zoo` entries in config order, `members[split]` = the models
    that need that split's cache through a group (others are computed alone), `table` = the geometry
    checkpoint's output (the caches lie beside it, logits/<split>/<model>.parquet), `wait()` =
    `checkpoints.logits_geometry.get()` (raises Snakemake's IncompleteCheckpointException until the
    checkpoint has run); `zoo_dir`, `batch_size` and `workers` as the logits jobs get them."""

    def __init__(self, zoo: list[dict], dataset: dict, eval_size: str, size: int, members: dict[str, list[str]],
                 table: str | os.PathLike, wait: Callable[[], object], zoo_dir: str | os.PathLike,
                 batch_size: int, workers: int):
        self.entries = {e["name"]: e for e in zoo}
        self.order = [e["name"] for e in zoo]
        self.dataset, self.eval_size, self.size = dataset, eval_size, size
        self.zoo_dir, self.batch_size, self.workers = Path(zoo_dir), batch_size, workers
        self.members = {split: [m for m in self.order if m in set(names)] for split, names in members.items()}
        self.table, self.wait = Path(table), wait
        self._read: tuple[float, dict] | None = None
        self._specs: dict[str, str] = {}

    def spec_key(self, name: str) -> str:
        if name not in self._specs:
            self._specs[name] = spec_key(self.entries[name], self.dataset, self.eval_size)
        return self._specs[name]

    def checkpoint_params(self) -> dict:
        """What the geometry checkpoint computes from: a change reruns it."""
        return {"eval_size": self.eval_size, "zoo": [geometry_inputs(self.entries[m]) | {"name": m} for m in self.order]}

    def _entries(self) -> dict:
        try:
            mtime = self.table.stat().st_mtime
        except OSError:
            return {}
        if self._read is None or self._read[0] != mtime:
            try:
                self._read = (mtime, json.loads(self.table.read_text()).get("models", {}))
            except (OSError, ValueError):
                return {}
        return self._read[1]

    def key(self, name: str) -> str:
        entry = self._entries().get(name)
        if not entry or entry.get("spec") != self.spec_key(name):
            self.wait()
            entry = self._entries().get(name)
            if not entry or entry.get("spec") != self.spec_key(name):
                raise GktError(f"{self.table} has no current geometry for model {name!r}: delete it and rerun")
        return entry["key"]

    def cache(self, split: str, model: str) -> Path:
        return self.table.parent / split / f"{model}.parquet"

    def _request(self, split: str, model: str) -> tuple[str, float] | None:
        """(request key of the model's logits job, its record's mtime); None without a readable record."""
        record = record_weights(self.zoo_dir, model)
        if record is None:
            return None
        return request_key(self.dataset, split, self.eval_size, self.batch_size, self.workers, record[0]), record[1]

    def restaged(self, split: str, model: str) -> bool:
        """Whether a rerun of the model's group job would stage a cache for it (`gkt logits-group`'s test):
        then its own job must run after it."""
        request = self._request(split, model)
        return request is None or not current(self.cache(split, model), *request)

    def config_changed(self) -> str | None:
        """The first result made for another data set, evaluation size, logits setting or geometric zoo
        entry than the config, where file times cannot tell (a geometry entry; a cache not older than its
        record): one line, None when there is none. For runs whose rerun triggers leave out params."""
        from gkt.logits.cache import read_meta

        entries = self._entries()
        for name in self.order:
            entry = entries.get(name)
            if entry and entry.get("spec") != self.spec_key(name):
                return f"{self.table} holds {name!r} for another data set, evaluation size or zoo entry"
        for split, names in self.members.items():
            for name in names:
                path, request = self.cache(split, name), self._request(split, name)
                meta = read_meta(path) if request and path.exists() else None
                if meta and meta.get("request") != request[0] and path.stat().st_mtime >= request[1]:
                    return f"{path} was made for another data set or logits setting"
        return None

    def grouped(self, split: str, model: str) -> bool:
        return model in self.members.get(split, ())

    def group_of(self, split: str, model: str) -> str | None:
        """The model's group on `split` (None: computed alone); reads the models before it only."""
        if not self.grouped(split, model):
            return None
        members = self.members[split]
        before = members[:members.index(model) + 1]
        return chunk(before, {m: self.key(m) for m in before}, self.size)[model]

    def members_of(self, split: str, group: str) -> list[str]:
        members = self.members.get(split, [])
        groups = chunk(members, {m: self.key(m) for m in members}, self.size)
        found = [m for m in members if groups[m] == group]
        if not found:
            raise GktError(f"no logits group {group!r} on split {split!r} in this zoo (see {self.table})")
        return found

    def groups(self, split: str) -> dict[str, list[str]]:
        """Every group of a split with its members (for reports; reads the whole table)."""
        members = self.members.get(split, [])
        out: dict[str, list[str]] = {}
        for m, g in chunk(members, {m: self.key(m) for m in members}, self.size).items():
            out.setdefault(g, []).append(m)
        return out
