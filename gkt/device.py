"""Where models run: the GPU when there is one, the CPU otherwise."""
from __future__ import annotations

import contextlib
import os

import torch


def setup_torch(threads: int | None = None) -> torch.device:
    """Pick the device and bound CPU threads (Snakemake passes each job its `threads`)."""
    threads = threads or int(os.environ.get("GKT_THREADS", "0")) or None
    if threads:
        torch.set_num_threads(threads)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(device: torch.device):
    """bf16 autocast on GPU; plain float32 on CPU, where autocast only slows small models."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def channels_last(x):
    """A model or a batch of images in channels_last (NHWC) memory format, on every device: on CUDA for
    its convolution kernels, on CPU because oneDNN's convolutions are faster in it (per training step
    on the embedded zoo: mobilenetv3 2.2x, coatnet 1.4x, convnext 1.2x; transformers unchanged). Values
    agree with the default format up to float rounding; the choice is the same in every stage."""
    if isinstance(x, torch.nn.Module):
        return x.to(memory_format=torch.channels_last)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def seed_all(seed: int) -> None:
    """Seed every RNG that model building, training and timm's transforms draw from (torch, Python's
    `random`, numpy): a process that never seeded them starts each from a random state, so training
    with augmentation, or a loss that initialises parameters, would differ between runs."""
    import random

    import numpy as np

    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
