"""Every registered transfer loss (gkt.transfer.losses: the KL family; gkt.transfer.contrastive: CD and
CRD, imported here so that they register) and `build_loss`, which the trainer and the multi-teacher
runs call."""
from __future__ import annotations

from gkt.transfer import contrastive  # noqa: F401  (registering cd, crd)
from gkt.transfer import vocabulary as vocab
from gkt.transfer.losses import LOSSES, TransferLoss


def build_loss(method: str, **hparams) -> TransferLoss:
    """The loss of `method` (MCL suffix stripped) with `hparams`, which `TransferConfig.from_dict` has
    checked (a run's `cfg.loss`); hyperparameters not given take their card's defaults."""
    base, _ = vocab.split_method(method)
    return LOSSES[base](**vocab.defaults(LOSSES[base].card.params) | hparams)
