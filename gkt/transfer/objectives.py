"""Every registered transfer loss (gkt.transfer.losses: the KL family; gkt.transfer.contrastive: CD and
CRD, imported here so that they register) and `build_loss`, which the trainer and the multi-teacher
runs call."""
from __future__ import annotations

from gkt.transfer import contrastive  # noqa: F401  (registering cd, crd)
from gkt.transfer import vocabulary as vocab
from gkt.transfer.losses import LOSSES, TransferLoss


def build_loss(method: str, **hparams) -> TransferLoss:
    """Instantiate the loss of `method` (MCL suffix stripped) with its hyperparameters: the
    vocabulary's defaults, then `hparams`; unknown or out-of-range ones are errors."""
    base, _ = vocab.check_method(method)
    return LOSSES[base](**vocab.loss_hparams(method, hparams, f"transfer.hparams.{method}"))
