"""What a transfer run writes: its metrics rows and, at the end, per_class.parquet, logits.parquet (val
logits in the logits-cache format) and student.safetensors."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from torch import nn

from gkt.transfer.metrics import per_class_transfer, transfer_metrics, write_per_class

log = logging.getLogger(__name__)


def row_hparams(cfg, loss) -> dict:
    """The hyperparameters a metrics row records: the run's lr, the loss's temperature and lam (NaN for
    losses without them)."""
    return {"lr": cfg.lr, "temperature": loss.temperature, "lam": loss.lam}


def metrics_row(keys: dict, epoch: int, labels: np.ndarray, reference, pred: np.ndarray,
                seconds: float, dp: tuple[float, float], hparams: dict) -> dict:
    """One metrics.parquet row; `hparams`: `row_hparams`."""
    return {**keys, "epoch": epoch,
            **transfer_metrics(labels, reference.student_pred, pred, reference.teacher_preds),
            "dp_pos_to_teacher": dp[0], "dp_neg_to_teacher": dp[1], "seconds": seconds, **hparams}


def write_outputs(out_dir: Path, model: nn.Module, val_logits: np.ndarray, labels: np.ndarray,
                  reference, num_classes: int, keys: dict, logits_meta: dict) -> None:
    """The final results of a run: per_class.parquet, logits.parquet, student.safetensors."""
    from gkt.logits.cache import write_logits
    from gkt.zoo.store import save_weights, weights_hash

    out_dir = Path(out_dir)
    pred = val_logits.argmax(1)
    write_per_class(per_class_transfer(labels, reference.student_pred, pred, reference.teacher_preds, num_classes),
                    out_dir / "per_class.parquet")
    meta = {"model": f"{keys['method']}/{keys['teacher']}__{keys['student']}", "split": "val",
            **logits_meta, "weights_hash": weights_hash(model)}
    write_logits(out_dir / "logits.parquet", val_logits, labels, meta)
    save_weights(model, out_dir / "student.safetensors")
    log.info("transfer outputs (metrics, per_class, logits, student weights) written to %s", out_dir)
