"""The one prediction loop: models over batches of inputs, on the GPU when there is one (autocast
there), in channels_last memory format everywhere (gkt.device.channels_last). Below every stage that runs models: the zoo measures val top-1 with it, the
logits stage caches with it (several models over one stream of decoded images), transfer evaluates
with it.

On CUDA out-of-memory a model's batches are halved and the batch retried, down to one sample, before
the job fails with one line: a logits group holds several models on the device at once, and a batch
size that fits one model may not fit the largest of the group.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from gkt.device import autocast, channels_last
from gkt.errors import GktError

log = logging.getLogger(__name__)


class OnDevice:
    """A model in eval mode on `device`, run on batches of at most `limit` samples (None: as given),
    which halves on CUDA out-of-memory."""

    def __init__(self, model: nn.Module, device: torch.device, name: str = "model"):
        self.device, self.name, self.limit = device, name, None
        self.cuda = device.type == "cuda"
        self.model = channels_last(model.to(device).eval())

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = channels_last(x)
        with autocast(self.device):
            return self.model(x).float().cpu()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """float32 logits of the batch `x` (already on the device), on the CPU."""
        while True:
            size = min(self.limit or len(x), len(x))
            try:
                if size == len(x):
                    return self._forward(x)
                return torch.cat([self._forward(x[i:i + size]) for i in range(0, len(x), size)])
            except torch.cuda.OutOfMemoryError:
                if self.cuda:
                    torch.cuda.empty_cache()
                if size <= 1:
                    raise GktError(
                        f"{self.name}: CUDA out of memory on {self.device} even one image at a time: run it on a GPU "
                        f"with more memory, or with fewer models per logits job (config logits.group_size)"
                    ) from None
                self.limit = size // 2
                log.warning("%s: CUDA out of memory at batch size %d, retrying at %d", self.name, size, self.limit)


@torch.inference_mode()
def predict_many(models: Sequence[nn.Module], inputs: Iterable[torch.Tensor], device: torch.device,
                 prepare: Sequence[Callable[[torch.Tensor], torch.Tensor] | None] | None = None,
                 desc: str = "predict", total: int | None = None, names: Sequence[str] | None = None
                 ) -> list[np.ndarray]:
    """float32 logits [n, C] of each model on the same input batches, in their order. Each batch goes
    to the device once; `prepare[i]` (e.g. a model's normalisation of shared uint8 images) turns it
    into model i's input there."""
    names = list(names or [f"model {i}" for i in range(len(models))])
    runners = [OnDevice(m, device, n) for m, n in zip(models, names)]
    prepare = list(prepare or [None] * len(models))
    out: list[list[torch.Tensor]] = [[] for _ in models]
    for x in tqdm(inputs, desc=desc, unit="batch", total=total, disable=None, leave=False):
        x = x.to(device, non_blocking=True)
        for run, prep, parts in zip(runners, prepare, out):
            parts.append(run(prep(x) if prep is not None else x))
    return [torch.cat(parts).numpy() for parts in out]


def predict(model: nn.Module, inputs: Iterable[torch.Tensor], device: torch.device, desc: str = "predict",
            total: int | None = None) -> np.ndarray:
    """float32 logits [n, C] of the input batches, in their order."""
    return predict_many([model], inputs, device, desc=desc, total=total, names=[desc])[0]


def predict_dataset(model: nn.Module, dataset: torch.utils.data.Dataset, device: torch.device, batch_size: int = 256,
                    workers: int = 0, desc: str = "logits") -> np.ndarray:
    """`predict` over a dataset of (input, label) items, in dataset order."""
    return predict(model, (x for x, _ in loader(dataset, device, batch_size, workers)), device, desc,
                   total=-(-len(dataset) // batch_size))


def loader(dataset: torch.utils.data.Dataset, device: torch.device, batch_size: int, workers: int
           ) -> torch.utils.data.DataLoader:
    """The dataset in order, in batches, decoded by `workers` processes."""
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                                       pin_memory=device.type == "cuda")


def top1(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean())
