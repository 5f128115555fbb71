"""Train an embedded-zoo model from its recipe: the training variations (size, seed, epochs,
augmentation, label smoothing, optimizer) are what create complementary knowledge between models.
`make_zoo_model` makes the zoo entry of every source (fine-tuning: gkt/zoo/finetune.py)."""
from __future__ import annotations

import logging
import time

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from gkt.data.base import DatasetSource
from gkt.device import channels_last, seed_all
from gkt.errors import GktError
from gkt.inference import predict_dataset, top1
from gkt.zoo.build import create_model
from gkt.zoo.families import arch_family, family
from gkt.zoo.results_table import timm_top1
from gkt.zoo.spec import TRAINED_HERE, ModelSpec
from gkt.zoo.store import ModelRecord, weights_hash
from gkt.zoo.transforms import AUGMENTATIONS, model_transform

log = logging.getLogger(__name__)

DEFAULT_RECIPE = dict(
    epochs=3, batch_size=128, optimizer="adamw", lr=2e-3, weight_decay=0.05,
    label_smoothing=0.0, augmentation="none",
)


def _optimizer(name: str, params: list[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay, nesterov=True)
    raise GktError(f"unknown optimizer {name!r} in a training recipe: use 'adamw' or 'sgd'")


def train_model(spec: ModelSpec, dataset: DatasetSource, device: torch.device) -> tuple[nn.Module, dict]:
    """Train `spec` on the dataset's train split; return the model and the recipe actually used."""
    seed_all(spec.seed)
    model = create_model(spec, dataset)
    recipe = {**DEFAULT_RECIPE, **spec.recipe}
    return fit(model, spec.name, recipe, dataset, device, spec.seed), recipe


def fit(model: nn.Module, name: str, recipe: dict, dataset: DatasetSource, device: torch.device, seed: int,
        params: list[nn.Parameter] | None = None) -> nn.Module:
    """Train `model` on the dataset's train split with a full `recipe` (DEFAULT_RECIPE's keys).

    `params`: train only these (the rest stays frozen, and the model stays in eval mode, so that
    frozen BatchNorm statistics and dropout do not change either: a classification layer fine-tuned
    on a fixed network, gkt/zoo/finetune.py). Returns the model in eval mode.
    """
    if recipe["augmentation"] not in AUGMENTATIONS:
        raise GktError(
            f"model {name!r}: unknown augmentation {recipe['augmentation']!r}; use one of {', '.join(AUGMENTATIONS)}"
        )
    model = channels_last(model.to(device))
    frozen = params is not None
    if frozen:
        keep = {id(p) for p in params}
        for p in model.parameters():
            p.requires_grad_(id(p) in keep)
    train = dataset.split("train", model_transform(model, is_training=True, augmentation=recipe["augmentation"]))
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(train, batch_size=recipe["batch_size"], shuffle=True, generator=generator)
    opt = _optimizer(recipe["optimizer"], list(params) if frozen else list(model.parameters()), recipe["lr"],
                     recipe["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=recipe["lr"], total_steps=max(1, recipe["epochs"] * len(loader)), pct_start=0.25
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe["label_smoothing"])
    for epoch in range(recipe["epochs"]):
        model.train(not frozen)
        bar = tqdm(loader, desc=f"{name} epoch {epoch + 1}/{recipe['epochs']}", disable=None, leave=False)
        for x, y in bar:
            loss = criterion(model(channels_last(x.to(device))), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    for p in model.parameters():
        p.requires_grad_(True)
    return model.eval()


def make_zoo_model(spec: ModelSpec, dataset: DatasetSource, device: torch.device) -> tuple[nn.Module, ModelRecord]:
    """Produce the zoo entry for any source: train it, draw it at random, or load pretrained weights."""
    start = time.perf_counter()
    recipe: dict = {}
    made_on, base = dataset, {}  # the data a model is made on: a fine-tuned one may be made on another
    if spec.source == "train":
        model, recipe = train_model(spec, dataset, device)
    elif spec.source == "finetune":
        from gkt.zoo.finetune import finetune

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
