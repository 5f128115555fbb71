"""Train an embedded-zoo model from its recipe: the training variations (size, seed, epochs,
augmentation, label smoothing, optimizer) are what create complementary knowledge between models."""
from __future__ import annotations

import logging
import time

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from gkt.data.base import DatasetSource
from gkt.errors import GktError
from gkt.inference import predict_dataset, top1
from gkt.zoo.build import create_model
from gkt.zoo.families import arch_family, family
from gkt.zoo.results_table import timm_top1
from gkt.zoo.spec import ModelSpec
from gkt.zoo.store import ModelRecord, weights_hash
from gkt.zoo.transforms import AUGMENTATIONS, model_transform

log = logging.getLogger(__name__)

DEFAULT_RECIPE = dict(
    epochs=3, batch_size=128, optimizer="adamw", lr=2e-3, weight_decay=0.05,
    label_smoothing=0.0, augmentation="none",
)


def _optimizer(name: str, model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay, nesterov=True)
    raise GktError(f"unknown optimizer {name!r} in a training recipe: use 'adamw' or 'sgd'")


def train_model(spec: ModelSpec, dataset: DatasetSource, device: torch.device) -> tuple[nn.Module, dict]:
    """Train `spec` on the dataset's train split; return the model and the recipe actually used."""
    recipe = {**DEFAULT_RECIPE, **spec.recipe}
    if recipe["augmentation"] not in AUGMENTATIONS:
        raise GktError(
            f"model {spec.name!r}: unknown augmentation {recipe['augmentation']!r}; use one of {', '.join(AUGMENTATIONS)}"
        )
    torch.manual_seed(spec.seed)
    model = create_model(spec, dataset).to(device)
    train = dataset.split("train", model_transform(model, is_training=True, augmentation=recipe["augmentation"]))
    generator = torch.Generator().manual_seed(spec.seed)
    loader = torch.utils.data.DataLoader(train, batch_size=recipe["batch_size"], shuffle=True, generator=generator)
    opt = _optimizer(recipe["optimizer"], model, recipe["lr"], recipe["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe["lr"], total_steps=max(1, recipe["epochs"] * len(loader)), pct_start=0.25
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe["label_smoothing"])
    for epoch in range(recipe["epochs"]):
        model.train()
        bar = tqdm(loader, desc=f"{spec.name} epoch {epoch + 1}/{recipe['epochs']}", disable=None, leave=False)
        for x, y in bar:
            loss = criterion(model(x.to(device)), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return model.eval(), recipe


def make_zoo_model(spec: ModelSpec, dataset: DatasetSource, device: torch.device) -> tuple[nn.Module, ModelRecord]:
    """Produce the zoo entry for any source: train it, draw it at random, or load pretrained weights."""
    start = time.perf_counter()
    recipe: dict = {}
    if spec.source == "train":
        model, recipe = train_model(spec, dataset, device)
    else:
        torch.manual_seed(spec.seed)
        model = create_model(spec, dataset).eval()
    seconds = time.perf_counter() - start
    acc = None
    params = sum(p.numel() for p in model.parameters())
    if spec.source in ("train", "random"):
        val = dataset.split("val", model_transform(model))
        acc = top1(predict_dataset(model, val, device, desc=f"{spec.name} val"), dataset.labels("val"))
        log.info("%s: val top-1 %.4f after %.1f s", spec.name, acc, seconds)
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
        dataset=dataset.name, weights_hash=weights_hash(model), top1=acc, kwargs=spec.kwargs,
        recipe=recipe, seed=spec.seed, train_seconds=round(seconds, 2) if spec.source == "train" else None,
        file=spec.file, train_samples=dataset.samples_key("train") if spec.source == "train" else None,
    )
    return model.cpu(), record
