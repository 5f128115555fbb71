"""Multi-teacher transfer (docs/method.md#multi-teacher-transfer): sequential, parallel, soup.

* sequential: one transfer per teacher, weakest first (or strongest first, by val accuracy); each
  step's result is the next step's student, and its frozen copy. Steps live in
  `steps/<i>_<teacher>/` (i = position in the order used); the run's metrics chain them into one
  curve over all epochs (Fig. 11).
* parallel: one run with all teachers; DP routes each sample to the most confident of
  {frozen student, teachers...}, plain distillation averages the teachers' KL terms.
* soup: one transfer per teacher (`ingredients/<teacher>/`) on the transfer set minus a seeded
  held-out slice; the uniform soup (parameter mean) is the run's result, and the greedy soup
  (Wortsman et al. 2022: ingredients by held-out accuracy, each kept only if the soup does not get
  worse on the slice) is written beside it as a run of mode `soup_greedy`.

All metrics compare with the original student and the union of the teachers (`metrics.py`). Runs
are named by the teachers in the order given (`<t1+t2+...>__<student>`); a run's method is the transfer
method it combines the teachers with (`cfg.method`, e.g. kl_dp), its metrics rows are labelled by
`vocab.run_keys`, and the workflow writes each run to `multi_<mode>-<method>/` (gkt.transfer.vocabulary.run_path),
so runs with different methods never share a folder.
"""
from __future__ import annotations

import logging
import math
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from gkt.errors import GktError
from gkt.io import atomic_path
from gkt.transfer import vocabulary as vocab
from gkt.transfer.objectives import build_loss
from gkt.transfer.metrics import write_metrics
from gkt.transfer.run import (Inputs, participant, result_meta, run_transfer, split_batches, student_participant,
                              transfer_indices, val_preds)
from gkt.transfer.settings import TransferConfig
from gkt.transfer.outputs import metrics_row, row_hparams, write_outputs
from gkt.transfer.trainer import Reference, predict
from gkt.zoo.store import ModelRecord

log = logging.getLogger(__name__)



def order_teachers(accuracy: dict[str, float], order: str) -> list[str]:
    """Teacher names by val accuracy (ties by name), ascending = weakest first."""
    ranked = sorted(accuracy, key=lambda name: (accuracy[name], name))
    return ranked[::-1] if order == "descending" else ranked


def chain_rows(steps: list[list[dict]]) -> list[dict]:
    """Sequential steps as one curve: each step's epochs continue the previous step's; a later
    step's epoch 0 only repeats the previous step's last epoch, so it is dropped."""
    rows, offset = [], 0
    for i, step in enumerate(steps):
        rows += [{**r, "epoch": r["epoch"] + offset} for r in step if i == 0 or r["epoch"] > 0]
        offset += max(r["epoch"] for r in step)
    return rows


def average_weights(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Uniform soup: the mean of every floating-point tensor; integer buffers (batch counters) from
    the first ingredient."""
    if not states:
        raise GktError("a soup needs at least one ingredient: give the soup mode one or more teachers")
    return {k: torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v.clone()
            for k, v in states[0].items()}


def greedy_soup(states: list[dict[str, torch.Tensor]], score: Callable[[dict], float]) -> tuple[dict, list[int]]:
    """Greedy soup: ingredients in descending score order; each joins if the soup's score does not drop."""
    scores = [score(s) for s in states]
    ranked = sorted(range(len(states)), key=lambda i: -scores[i])
    chosen, best = [ranked[0]], scores[ranked[0]]
    for i in ranked[1:]:
        candidate = score(average_weights([states[j] for j in chosen + [i]]))
        if candidate >= best:
            chosen, best = chosen + [i], candidate
    return average_weights([states[j] for j in chosen]), chosen


def _copy(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def run_multi(inputs: Inputs, cfg: TransferConfig, mode: str, student: str, teachers: list[str], out_dir: str | Path,
              order: str = vocab.MULTI_ORDER, holdout: float = vocab.MULTI_HOLDOUT,
              greedy_dir: str | Path | None = None) -> Path:
    """Run one multi-teacher transfer of method `cfg.method`; results in `out_dir` (the workflow's folder for
    it is `vocab.run_path(cfg.method, teachers, student, mode)`)."""
    if problem := vocab.mode_problem(mode):
        raise GktError(f"multi-teacher run: {problem} (--mode)")
    if problem := vocab.multi_problem(order, holdout):
        raise GktError(f"multi-teacher run: {problem} (transfer.multi[], or --order/--holdout)")
    if len(set(teachers)) != len(teachers) or len(teachers) < 2:
        raise GktError(f"multi-teacher transfer needs two or more distinct teachers, got {teachers}")
    if student in teachers:
        raise GktError(f"teacher {student!r} equals the student: transfer needs different models")
    out_dir = Path(out_dir)
    s_part, s_rec = student_participant(inputs, student, "none")  # the soups load their weights into it
    preds = {t: val_preds(inputs, *participant(inputs, t, "none")) for t in teachers}
    labels = inputs.dataset.labels("val")
    names = order_teachers({t: float((p == labels).mean()) for t, p in preds.items()}, order) \
        if mode == "sequential" else list(teachers)
    reference = Reference(teacher_preds=np.stack([preds[t] for t in names]),
                          student_pred=val_preds(inputs, s_part, s_rec))
    # Results are named by the teachers in the given order (the workflow knows no accuracies when it
    # names jobs); the sequential order used shows in the step directories.
    keys = vocab.run_keys(cfg.method, teachers, student, mode)
    if mode == "parallel":
        run_transfer(inputs, cfg, student, names, out_dir, keys=keys, reference=reference)
    elif mode == "sequential":
        steps, weights = [], None
        for i, t in enumerate(names, 1):
            step_dir = out_dir / "steps" / f"{i}_{t}"
            log.info("sequential step %d/%d: teacher %s -> %s", i, len(names), t, step_dir)
            steps.append(run_transfer(inputs, cfg, student, [t], step_dir, student_weights=weights, keys=keys,
                                      reference=reference).rows)
            weights = step_dir / "student.safetensors"
        write_metrics(chain_rows(steps), out_dir / "metrics.parquet")
        for f in ("per_class.parquet", "logits.parquet", "student.safetensors"):
            _copy(weights.parent / f, out_dir / f)
    else:
        _soups(inputs, cfg, s_part, s_rec, names, out_dir, keys, reference, holdout, greedy_dir)
    log.info("multi-teacher %s transfer to %s done: results in %s", mode, student, out_dir)
    return out_dir


def _soups(inputs: Inputs, cfg: TransferConfig, s_part, s_rec: ModelRecord, teachers: list[str], out_dir: Path,
           keys: dict, reference: Reference, holdout: float, greedy_dir: str | Path | None) -> None:
    start = time.perf_counter()
    base = transfer_indices(inputs, cfg)
    base = np.arange(len(inputs.dataset.labels("train"))) if base is None else base
    held = np.sort(np.random.default_rng(cfg.seed).choice(base, size=max(1, round(holdout * len(base))), replace=False))
    states = []
    for t in teachers:
        result = run_transfer(inputs, cfg, s_rec.name, [t], out_dir / "ingredients" / t, exclude=held,
                              keys=vocab.run_keys(cfg.method, [t], s_rec.name))
        states.append({k: v.detach().cpu() for k, v in result.model.state_dict().items()})

    model, dev = s_part.model.to(inputs.device), inputs.device
    held_batches, val_batches = split_batches(inputs, "train", s_part, held), split_batches(inputs, "val", s_part)

    def evaluate(state: dict, batches) -> np.ndarray:
        model.load_state_dict(state)
        return predict(model, batches, dev)

    def held_acc(state: dict) -> float:
        return float((evaluate(state, held_batches).argmax(1) == held_batches.labels.numpy()).mean())

    greedy, chosen = greedy_soup(states, held_acc)
    log.info("greedy soup keeps %s of %d ingredients", [teachers[i] for i in chosen], len(states))
    hparams = row_hparams(cfg, build_loss(cfg.method, **cfg.loss))
    labels = val_batches.labels.numpy()
    nan2 = (math.nan, math.nan)
    soups = [(keys, average_weights(states), out_dir)]
    if greedy_dir is not None:
        soups.append((vocab.run_keys(cfg.method, teachers, s_rec.name, vocab.GREEDY_SOUP), greedy, Path(greedy_dir)))
    for soup_keys, state, where in soups:
        logits = evaluate(state, val_batches)
        rows = [metrics_row(soup_keys, 0, labels, reference, reference.student_pred, 0.0, nan2, hparams),
                metrics_row(soup_keys, cfg.epochs, labels, reference, logits.argmax(1),
                            time.perf_counter() - start, nan2, hparams)]
        write_metrics(rows, where / "metrics.parquet")
        write_outputs(where, model, logits, labels, reference, logits.shape[1], soup_keys,
                      result_meta(inputs, s_rec, model))
