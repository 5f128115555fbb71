"""Cache zoo models' logits on one split: one model, or a group that shares decoding.

Models whose eval transforms have the same geometry (gkt.zoo.transforms.split_eval) are run over one
stream of decoded, resized uint8 images; each model normalises the batch itself on the device. The
values each model sees are bit-identical to its own per-image transform's, so a model's cache is the
same whether it was computed alone or in a group (tests/test_data_path.py).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from gkt.data.base import DatasetSource
from gkt.inference import loader, predict_dataset, predict_many
from gkt.logits.cache import write_logits
from gkt.zoo.record import ModelRecord
from gkt.zoo.store import load_model
from gkt.zoo.transforms import DEFAULT_EVAL_SIZE, data_config, model_transform, split_eval

log = logging.getLogger(__name__)

# Published and measured top-1 of a timm model further apart than this are logged: its preprocessing
# or weights are probably not what timm evaluated (0.3 percentage points).
TOP1_GAP_WARN = 0.003


def cache_logits(
    name: str, zoo_dir: str | Path, dataset: DatasetSource, split: str, out: str | Path,
    device: torch.device, batch_size: int = 256, workers: int = 0, eval_size: str = DEFAULT_EVAL_SIZE,
    request: str | None = None,
) -> dict:
    """Run zoo model `name` over `split` with its own timm transform and write the Parquet cache."""
    return cache_group([name], zoo_dir, dataset, split, {name: out}, device, batch_size, workers, eval_size,
                       {name: request} if request else None)[name]


def cache_group(
    names: list[str], zoo_dir: str | Path, dataset: DatasetSource, split: str, outs: dict[str, str | Path],
    device: torch.device, batch_size: int = 256, workers: int = 0, eval_size: str = DEFAULT_EVAL_SIZE,
    requests: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Cache the logits of zoo models `names` on `split` to `outs[name]`, decoding each image once per
    distinct geometry among them. All models of a geometry stay on the device together."""
    loaded = {n: load_model(n, zoo_dir, dataset) for n in names}
    labels, samples = dataset.labels(split), dataset.samples_key(split)
    streams: dict[str, list[str]] = {}  # geometry transform (its repr) -> models
    parts = {}
    for n, (model, _) in loaded.items():
        transform = model_transform(model, eval_size=eval_size)
        parts[n] = split_eval(transform) or (transform, None)
        streams.setdefault(repr(parts[n][0]) if parts[n][1] else f"whole:{n}", []).append(n)
    stats = {}
    for members in streams.values():
        geometry, norm = parts[members[0]]
        data = dataset.split(split, geometry) if norm is not None else None
        start = time.perf_counter()
        if data is not None and _uint8(data):
            batches = (x for x, _ in loader(data, device, batch_size, workers))
            logits = predict_many([loaded[n][0] for n in members], batches, device, [parts[n][1] for n in members],
                                  desc=f"{'+'.join(members)} {split}", total=-(-len(data) // batch_size), names=members)
        else:  # not a timm eval transform (or not on uint8 images): each model on its own transform
            logits = [predict_dataset(loaded[n][0], dataset.split(split, model_transform(loaded[n][0], eval_size=eval_size)),
                                      device, batch_size, workers, desc=f"{n} {split}") for n in members]
        seconds = time.perf_counter() - start
        for n, z in zip(members, logits):
            model, record = loaded[n]
            meta = dict(
                model=n, architecture=record.arch, dataset=dataset.name, split=split,
                weights_hash=record.weights_hash, transform=data_config(model, eval_size), samples=samples,
                eval_size=eval_size, **({"request": requests[n]} if requests and requests.get(n) else {}),
            )
            write_logits(outs[n], z, labels, meta)
            if split == "val":
                top1_gap(record, float((z.argmax(1) == labels).mean()), eval_size)
            stats[n] = {"images": len(labels), "seconds": seconds, "shared_with": len(members) - 1}
        log.info("%s/%s: %d images in %.2f s (%.0f img/s x %d models, one decode) on %s -> %s",
                 "+".join(members), split, len(labels), seconds, len(labels) / seconds, len(members), device,
                 ", ".join(str(outs[n]) for n in members))
    return stats


def _uint8(data: torch.utils.data.Dataset) -> bool:
    """Whether the geometry yields uint8 images (PIL sources), which the normalisation expects."""
    x, _ = data[0]
    return isinstance(x, torch.Tensor) and x.dtype == torch.uint8


def top1_gap(record: ModelRecord, measured: float, eval_size: str) -> float | None:
    """Measured minus published val top-1 (fraction) of a timm-sourced model whose record holds timm's
    results-table top-1; a gap over TOP1_GAP_WARN is logged. None for other models."""
    if record.source != "timm" or record.top1 is None:
        return None
    gap = measured - record.top1
    if abs(gap) > TOP1_GAP_WARN:
        log.warning("%s: measured val top-1 %.2f %% vs %.2f %% in timm's results table (gap %+.2f pp, evaluated at the "
                    "%s size): check its weights and preprocessing", record.name, 100 * measured, 100 * record.top1,
                    100 * gap, eval_size)
    return gap
