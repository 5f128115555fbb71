"""Cache one model's logits on one split."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from gkt.data.base import DatasetSource
from gkt.logits.cache import write_logits
from gkt.inference import predict_dataset
from gkt.zoo.store import load_model
from gkt.zoo.transforms import data_config, model_transform

log = logging.getLogger(__name__)


def cache_logits(
    name: str, zoo_dir: str | Path, dataset: DatasetSource, split: str, out: str | Path,
    device: torch.device, batch_size: int = 256, workers: int = 0,
) -> dict:
    """Run zoo model `name` over `split` with its own timm transform and write the Parquet cache."""
    model, record = load_model(name, zoo_dir, dataset)
    data = dataset.split(split, model_transform(model))
    start = time.perf_counter()
    logits = predict_dataset(model, data, device, batch_size, workers, desc=f"{name} {split}")
    seconds = time.perf_counter() - start
    labels = dataset.labels(split)
    meta = dict(
        model=name, architecture=record.arch, dataset=dataset.name, split=split,
        weights_hash=record.weights_hash, transform=data_config(model), samples=dataset.samples_key(split),
    )
    write_logits(out, logits, labels, meta)
    log.info("%s/%s: %d images in %.2f s (%.0f img/s) on %s -> %s",
             name, split, len(labels), seconds, len(labels) / seconds, device, out)
    return {"images": len(labels), "seconds": seconds}
