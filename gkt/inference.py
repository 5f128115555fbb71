"""The one prediction loop: a model over batches of inputs, batched, on the GPU when there is one
(channels_last and autocast there). Below every stage that runs models: the zoo measures val top-1
with it, the logits stage caches with it, transfer evaluates with it."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from gkt.device import autocast


@torch.inference_mode()
def predict(model: nn.Module, inputs: Iterable[torch.Tensor], device: torch.device, desc: str = "predict",
            total: int | None = None) -> np.ndarray:
    """float32 logits [n, C] of the input batches, in their order."""
    model = model.to(device).eval()
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    out = []
    for x in tqdm(inputs, desc=desc, unit="batch", total=total, disable=None, leave=False):
        x = x.to(device, non_blocking=True)
        if cuda:
            x = x.to(memory_format=torch.channels_last)
        with autocast(device):
            out.append(model(x).float().cpu())
    return torch.cat(out).numpy()


def predict_dataset(model: nn.Module, dataset: torch.utils.data.Dataset, device: torch.device, batch_size: int = 256,
                    workers: int = 0, desc: str = "logits") -> np.ndarray:
    """`predict` over a dataset of (input, label) items, in dataset order."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                                         pin_memory=device.type == "cuda")
    return predict(model, (x for x, _ in loader), device, desc, total=len(loader))


def top1(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean())
