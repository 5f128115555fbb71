"""Train an embedded-zoo model from its recipe: the training variations (size, seed, epochs,
augmentation, label smoothing, optimizer) are what create complementary knowledge between models.
`fit` is also the fine-tuning loop (gkt/zoo/finetune.py); gkt/zoo/make.py makes the zoo entry of
every source."""
from __future__ import annotations

import logging

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from gkt.data.base import DatasetSource
from gkt.device import channels_last, seed_all
from gkt.errors import GktError
from gkt.zoo.build import create_model
from gkt.zoo.spec import ModelSpec
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
