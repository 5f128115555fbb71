"""Resolve one transfer run's inputs from the results tree and run the trainer.

Models come from the zoo, each with its own timm preprocessing; teacher and frozen-student targets
on the transfer set come from the logits cache (`logits/train/<model>.parquet`) when it exists and
matches the weights, teacher val predictions from `logits/val/<model>.parquet`. Anything missing is
computed by the trainer instead, so a run never depends on the cache for correctness.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
from pathlib import Path

import numpy as np
import safetensors.torch
import torch

from gkt.data.base import DatasetSource, stratified_indices
from gkt.errors import GktError
from gkt.logits.cache import read_logits, read_predictions
from gkt.transfer.feed import Batches, Views
from gkt.transfer.settings import TransferConfig
from gkt.transfer.trainer import Participant, Reference, Split, Trainer, TransferResult, predict
from gkt.zoo.store import ModelRecord, load_model
from gkt.zoo.transforms import DEFAULT_EVAL_SIZE, data_config, model_transform

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Inputs:
    """Where a run's inputs live: `results/<dataset>/zoo` and `results/<dataset>/logits`."""

    dataset: DatasetSource
    zoo_dir: Path
    logits_dir: Path | None
    device: torch.device
    # The evaluation convention of the logits caches (logits.eval_size): the transfer runs preprocess every
    # model the same way, so that cached targets and val predictions are the ones the run would compute.
    eval_size: str = DEFAULT_EVAL_SIZE
    # Zoo models loaded so far, by (name, augmentation): a multi-teacher run loads each model once.
    loaded: dict = dataclasses.field(default_factory=dict, repr=False)


def participant(inputs: Inputs, name: str, augmentation: str, weights: Path | None = None
                ) -> tuple[Participant, ModelRecord]:
    """A zoo model and its transforms, loaded once per `inputs` and shared (teachers are only run).
    With `weights` (e.g. an earlier transfer's result), or for a model that will be trained, use
    `student_participant`, which returns a copy of its own."""
    key = (name, augmentation)
    if key not in inputs.loaded:
        model, record = load_model(name, inputs.zoo_dir, inputs.dataset)
        train_tf = model_transform(model, is_training=True, augmentation=augmentation) if augmentation != "none" else None
        inputs.loaded[key] = (Participant(name, model, model_transform(model, eval_size=inputs.eval_size), train_tf),
                              record)
    return inputs.loaded[key]


def student_participant(inputs: Inputs, name: str, augmentation: str, weights: Path | None = None
                        ) -> tuple[Participant, ModelRecord]:
    """A model to train: a copy of the loaded zoo model, with `weights` when given."""
    shared, record = participant(inputs, name, augmentation)
    # The shared model may have served as a frozen teacher (requires_grad off) in an earlier run.
    model = copy.deepcopy(shared.model).requires_grad_(True)
    if weights is not None:
        model.load_state_dict(safetensors.torch.load_file(str(weights)))
    return dataclasses.replace(shared, model=model), record


def transfer_indices(inputs: Inputs, cfg: TransferConfig) -> np.ndarray | None:
    """Rows of the train split that form the transfer set (None: all of them)."""
    if not cfg.subset_per_class:
        return None
    return stratified_indices(inputs.dataset.labels("train"), cfg.subset_per_class, cfg.seed)


def _cache(inputs: Inputs, split: str, record: ModelRecord, predictions_only: bool):
    """A model's logits cache if present and made from these very weights, else None."""
    if inputs.logits_dir is None:
        return None
    path = inputs.logits_dir / split / f"{record.name}.parquet"
    if not path.exists():
        log.info("no logits cache %s: its outputs will be computed", path)
        return None
    n = len(inputs.dataset.labels(split))
    read = read_predictions if predictions_only else read_logits
    cache = read(path, num_classes=inputs.dataset.num_classes, rows=n, samples=inputs.dataset.samples_key(split),
                 record=record)
    if cache.meta.get("eval_size") != inputs.eval_size:
        raise GktError(f"logits cache {path} was evaluated at the {cache.meta.get('eval_size')} size, this transfer at "
                       f"the {inputs.eval_size} size: give transfer the cache's --eval-size (logits.eval_size) or "
                       "rebuild the cache")
    if not np.array_equal(cache.label, inputs.dataset.labels(split)):
        raise GktError(f"logits cache {path} has other labels than the {split} split: rerun the logits stage")
    return cache


def cached_tables(inputs: Inputs, teachers: list[ModelRecord], student: ModelRecord | None,
                  indices: np.ndarray | None) -> dict[str, torch.Tensor] | None:
    """Teacher (and, when `student` is given, frozen-student) train logits from the cache, or None."""
    caches = [_cache(inputs, "train", r, predictions_only=False) for r in teachers]
    if any(c is None for c in caches):
        return None
    rows = slice(None) if indices is None else indices
    tables = {"teachers": torch.from_numpy(np.stack([c.logits[rows] for c in caches]))}
    frozen = _cache(inputs, "train", student, predictions_only=False) if student is not None else None
    if frozen is not None:
        tables["frozen"] = torch.from_numpy(frozen.logits[rows])
    return tables


def teacher_val_preds(inputs: Inputs, teachers: list[ModelRecord]) -> np.ndarray | None:
    caches = [_cache(inputs, "val", r, predictions_only=True) for r in teachers]
    return None if any(c is None for c in caches) else np.stack([c.pred for c in caches])


def split_batches(inputs: Inputs, split: str, p: Participant, indices: np.ndarray | None = None) -> Batches:
    """`p`'s eval preprocessing of a split (or of its rows `indices`), for prediction."""
    ds = inputs.dataset
    return Batches(Views(ds.split(split), ds.labels(split), [p.transform], indices=indices), 512, desc=split)


def val_preds(inputs: Inputs, p: Participant, record: ModelRecord) -> np.ndarray:
    """A zoo model's val predictions: from its cache, else by running it."""
    cache = _cache(inputs, "val", record, predictions_only=True)
    if cache is not None:
        return cache.pred
    return predict(p.model.to(inputs.device), split_batches(inputs, "val", p), inputs.device).argmax(1)


def result_meta(inputs: Inputs, record: ModelRecord, model: torch.nn.Module) -> dict:
    """Metadata of a transferred model's val logits (the logits-cache format)."""
    return {"architecture": record.arch, "dataset": inputs.dataset.name,
            "transform": data_config(model, inputs.eval_size), "eval_size": inputs.eval_size,
            "samples": inputs.dataset.samples_key("val")}


def run_transfer(inputs: Inputs, cfg: TransferConfig, student: str, teachers: list[str], out_dir: str | Path, *,
                 student_weights: Path | None = None, keys: dict | None = None, reference: Reference | None = None,
                 exclude: np.ndarray | None = None) -> TransferResult:
    """One transfer run. `student_weights` replaces the zoo weights (sequential transfer: the previous
    step's result), `exclude` removes train rows from the transfer set (the soup's held-out slice)."""
    if student in teachers:
        raise GktError(f"teacher {student!r} equals the student: transfer needs two different models")
    s, s_rec = student_participant(inputs, student, cfg.augmentation, student_weights)
    loaded = [participant(inputs, t, cfg.augmentation) for t in teachers]
    t_parts, t_recs = [p for p, _ in loaded], [r for _, r in loaded]
    indices = transfer_indices(inputs, cfg)
    if exclude is not None:
        base = np.arange(len(inputs.dataset.labels("train"))) if indices is None else indices
        indices = np.setdiff1d(base, exclude)
    tables = None
    if cfg.targets == "cached":
        # The student's cached logits are its zoo weights' logits: not valid for other weights.
        tables = cached_tables(inputs, t_recs, None if student_weights else s_rec, indices)
    reference = reference or Reference()
    if reference.teacher_preds is None:
        reference = dataclasses.replace(reference, teacher_preds=teacher_val_preds(inputs, t_recs))
    ds = inputs.dataset
    trainer = Trainer(
        cfg, s, t_parts,
        Split(ds.split("train"), ds.labels("train"), indices), Split(ds.split("val"), ds.labels("val")),
        out_dir, inputs.device, tables=tables, reference=reference, keys=keys,
        logits_meta=result_meta(inputs, s_rec, s.model),
        provenance={"train_samples": ds.samples_key("train", indices), "val_samples": ds.samples_key("val"),
                    "eval_size": inputs.eval_size},
    )
    return trainer.fit()
