"""The zoo entry of every source (gkt/zoo/spec.py): train it (gkt/zoo/train.py), fine-tune another zoo's
model (gkt/zoo/finetune.py), draw it at random (the control) or load pretrained weights, and its record."""
from __future__ import annotations

import logging
import time

import torch
import torch.nn as nn

from gkt.data.base import DatasetSource
from gkt.inference import predict_dataset, top1
from gkt.zoo.build import create_model
from gkt.zoo.families import arch_family, family
from gkt.zoo.finetune import finetune
from gkt.zoo.results_table import timm_top1
from gkt.zoo.spec import TRAINED_HERE, ModelSpec
from gkt.zoo.store import ModelRecord, weights_hash
from gkt.zoo.train import train_model
from gkt.zoo.transforms import model_transform

log = logging.getLogger(__name__)


def make_zoo_model(spec: ModelSpec, dataset: DatasetSource, device: torch.device) -> tuple[nn.Module, ModelRecord]:
    """Produce the zoo entry for any source: train it, draw it at random, or load pretrained weights."""
    start = time.perf_counter()
    recipe: dict = {}
    made_on, base = dataset, {}  # the data a model is made on: a fine-tuned one may be made on another
    if spec.source == "train":
        model, recipe = train_model(spec, dataset, device)
    elif spec.source == "finetune":
        model, spec, recipe, made_on, base = finetune(spec, dataset, device)
    else:
        torch.manual_seed(spec.seed)
        model = create_model(spec, dataset).eval()
    seconds = time.perf_counter() - start
    acc = None
    params = sum(p.numel() for p in model.parameters())
    if spec.source in TRAINED_HERE:
        # The training's report. A random-init control's accuracy comes from its val logits cache (the
        # models view): a val pass here would repeat the logits job's (50,000 images on ImageNet).
        val = made_on.split("val", model_transform(model))
        acc = top1(predict_dataset(model, val, device, desc=f"{spec.name} val"), made_on.labels("val"))
        log.info("%s: %s val top-1 %.4f after %.1f s", spec.name, made_on.name, acc, seconds)
    elif getattr(dataset, "timm_results", None):
        # Pretrained models: timm's own results table when configured (dataset.timm_results);
        # otherwise the logits stage measures top-1 (its cache metadata holds it).
        acc = timm_top1(dataset.timm_results, spec.arch, params)
        if acc is not None:
            log.info("%s: top-1 %.4f from timm's results table %s", spec.name, acc, dataset.timm_results)
    record = ModelRecord(
        name=spec.name, arch=spec.arch, source=spec.source,
        family=spec.family or family(spec.arch), arch_family=spec.arch_family or arch_family(spec.arch),
        params=params, num_classes=dataset.num_classes,
        dataset=made_on.name, weights_hash=weights_hash(model), top1=acc, kwargs=spec.kwargs,
        recipe=recipe, seed=spec.seed, train_seconds=round(seconds, 2) if recipe else None,
        file=spec.file, train_samples=made_on.samples_key("train") if recipe else None, **base,
    )
    return model.cpu(), record
