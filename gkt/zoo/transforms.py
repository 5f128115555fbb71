"""Each model's own preprocessing, resolved by timm from the model's pretrained cfg."""
from __future__ import annotations

import torch.nn as nn
from timm.data import create_transform, resolve_data_config

# Training-time augmentation levels for recipes trained here; timm's create_transform arguments.
AUGMENTATIONS = {
    "none": None,
    "light": dict(scale=(0.7, 1.0), ratio=(0.9, 1.1), hflip=0.0, color_jitter=None),
    "strong": dict(scale=(0.35, 1.0), ratio=(0.75, 1.33), hflip=0.0, color_jitter=0.3, re_prob=0.25),
}


def data_config(model: nn.Module) -> dict:
    return resolve_data_config(model=model)


def model_transform(model: nn.Module, is_training: bool = False, augmentation: str = "none"):
    """timm's transform for this model: eval preprocessing, or training with an augmentation level."""
    cfg = data_config(model)
    aug = AUGMENTATIONS[augmentation] if is_training else None
    if aug is None:
        return create_transform(**cfg, is_training=False)
    return create_transform(**cfg, is_training=True, **aug)
