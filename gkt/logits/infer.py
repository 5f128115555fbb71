"""Run a model over a dataset split: batched, on the GPU when there is one."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from gkt.device import autocast


@torch.inference_mode()
def predict_logits(
    model: nn.Module,
    dataset: torch.utils.data.Dataset,
    device: torch.device,
    batch_size: int = 256,
    workers: int = 0,
    desc: str = "logits",
) -> np.ndarray:
    """float32 logits [n, C] in dataset order."""
    model = model.to(device).eval()
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
        pin_memory=device.type == "cuda",
    )
    out = []
    for x, _ in tqdm(loader, desc=desc, unit="batch", disable=None, leave=False):
        x = x.to(device, non_blocking=True)
        if device.type == "cuda":
            x = x.to(memory_format=torch.channels_last)
        with autocast(device):
            out.append(model(x).float().cpu())
    return torch.cat(out).numpy()


def top1(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean())
