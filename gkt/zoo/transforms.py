"""Each model's own preprocessing, resolved by timm from the model's pretrained cfg.

Evaluation size: timm evaluates pretrained weights at their
cfg's `test_input_size` / `test_crop_pct` when the cfg has them (`use_test_size`: the numbers in timm's
results tables); `eval_size="test"` follows that convention, `"train"` uses the training input size.
A cfg whose input size was overridden (every model trained here gets its dataset's input size) has no
test size of its own: the architecture's published test size belongs to other weights at another
resolution, so such a model is evaluated at its input size under either convention.

An eval transform splits into its geometry (decode, resize, crop: PIL image -> uint8 tensor) and a
per-model normalisation; models with the same geometry can share one decoded, resized image
(`geometry_key`), which is what the logits groups and the transfer input cache do.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from gkt.errors import GktError

if TYPE_CHECKING:
    import torch
    import torch.nn as nn

# timm and torch are imported where they are used: the CLI reads EVAL_SIZES at start-up.

# Training-time augmentation levels for recipes trained here; timm's create_transform arguments.
AUGMENTATIONS = {
    "none": None,
    "light": dict(scale=(0.7, 1.0), ratio=(0.9, 1.1), hflip=0.0, color_jitter=None),
    "strong": dict(scale=(0.35, 1.0), ratio=(0.75, 1.33), hflip=0.0, color_jitter=0.3, re_prob=0.25),
}
EVAL_SIZES = ("test", "train")
DEFAULT_EVAL_SIZE = "test"


def _own_test_size(model: nn.Module) -> bool:
    """Whether the model's cfg still has the input size its published test size belongs to."""
    from timm.models import get_pretrained_cfg

    cfg = getattr(model, "pretrained_cfg", None) or {}
    if not cfg.get("test_input_size") or not cfg.get("architecture"):
        return False
    tag = cfg.get("tag")
    published = get_pretrained_cfg(f"{cfg['architecture']}.{tag}" if tag else cfg["architecture"])
    return published is not None and tuple(published.input_size) == tuple(cfg.get("input_size") or ())


def data_config(model: nn.Module, eval_size: str = DEFAULT_EVAL_SIZE) -> dict:
    """timm's data config of the model at the evaluation size `eval_size` (module docstring)."""
    if eval_size not in EVAL_SIZES:
        raise GktError(f"unknown evaluation size {eval_size!r} (logits.eval_size): use one of {', '.join(EVAL_SIZES)}")
    from timm.data import resolve_data_config

    return resolve_data_config(model=model, use_test_size=eval_size == "test" and _own_test_size(model))


def model_transform(model: nn.Module, is_training: bool = False, augmentation: str = "none",
                    eval_size: str = DEFAULT_EVAL_SIZE):
    """timm's transform for this model: eval preprocessing, or training with an augmentation level."""
    from timm.data import create_transform

    aug = AUGMENTATIONS[augmentation] if is_training else None
    if aug is None:
        return create_transform(**data_config(model, eval_size), is_training=False)
    return create_transform(**data_config(model, "train"), is_training=True, **aug)


def geometry_key(cfg: dict) -> str:
    """What decides an eval transform's pixels before normalisation: input size, interpolation, crop
    mode and crop pct (and the mean, which fills the border in timm's 'border' crop mode). Models with
    the same key see the same resized image, e.g. `224x224-bicubic-center-0.875`."""
    _, h, w = cfg["input_size"]
    key = f"{h}x{w}-{cfg['interpolation']}-{cfg.get('crop_mode') or 'center'}-{cfg['crop_pct']:.3f}"
    if cfg.get("crop_mode") == "border":
        key += "-fill" + "_".join(str(round(255 * v)) for v in cfg["mean"])
    return key


@dataclass(frozen=True, eq=False)
class Normalise:
    """The last two steps of a timm eval transform (ToTensor's /255, then Normalize) on a batch of
    uint8 images [..., C, H, W]: the same float32 operations in the same order, so the values are
    bit-identical to the per-image transform's."""

    mean: torch.Tensor  # float32 [C], as timm's Normalize holds them
    std: torch.Tensor

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        mean = self.mean.to(images.device).view(-1, 1, 1)
        std = self.std.to(images.device).view(-1, 1, 1)
        if images.device.type != "cpu" or images.dim() != 4:
            return images.to(torch.float32).div_(255).sub_(mean).div_(std)
        # On the CPU one image at a time, which stays in the cache: twice as fast as whole-batch passes.
        out = torch.empty(images.shape, dtype=torch.float32)
        for o, image in zip(out, images):
            o.copy_(image).div_(255).sub_(mean).div_(std)
        return out


def split_eval(transform: Callable) -> tuple[Callable, Normalise] | None:
    """(geometry: image -> uint8 [C, H, W] tensor, normalisation) of a timm eval transform, or None
    when `transform` does not end in timm's ToTensor + Normalize (then it must run whole)."""
    import torch
    from timm.data.transforms import MaybePILToTensor, MaybeToTensor
    from torchvision import transforms as T

    steps = getattr(transform, "transforms", None)
    if not steps or len(steps) < 2 or type(steps[-2]) is not MaybeToTensor or type(steps[-1]) is not T.Normalize:
        return None
    norm = steps[-1]
    mean = torch.as_tensor(norm.mean, dtype=torch.float32)
    std = torch.as_tensor(norm.std, dtype=torch.float32)
    return T.Compose([*steps[:-2], MaybePILToTensor()]), Normalise(mean, std)


def add_eval_size(parser: argparse.ArgumentParser) -> None:
    """`--eval-size`: the evaluation convention (logits.eval_size), one for the caches and the transfers that read them."""
    parser.add_argument("--eval-size", choices=EVAL_SIZES, default=DEFAULT_EVAL_SIZE,
                        help="preprocess every model at timm's test size (its results tables' convention) or at its "
                             f"training size (logits.eval_size; default {DEFAULT_EVAL_SIZE})")
