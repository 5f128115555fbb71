"""Run settings (no torch: Snakemake imports this at parse time).

Settings resolve in three layers, later wins: the config's `transfer.defaults` (budget, batch size,
targets mode, ...), the method's defaults (`gkt.transfer.vocabulary`, the paper's hyperparameters),
the config's `transfer.hparams[method]`. Hyperparameters are written flat; keys that are not
`TransferConfig` fields go to the loss (temperature, lam, k, smoothing, CRD's feat_dim, ...). Every
value is checked here, so a bad one fails `snakemake -n` with the key that holds it.
"""
from __future__ import annotations

import dataclasses

from gkt.errors import GktError
from gkt.transfer import vocabulary as vocab


@dataclasses.dataclass
class TransferConfig:
    """One run's settings; `loss` holds the loss's hyperparameters (temperature, lam, k, ...)."""

    method: str
    epochs: int = vocab.RUN_PARAMS["epochs"].default
    batch_size: int = vocab.RUN_PARAMS["batch_size"].default
    lr: float = vocab.RUN_PARAMS["lr"].default
    momentum: float = vocab.RUN_PARAMS["momentum"].default
    weight_decay: float = vocab.RUN_PARAMS["weight_decay"].default
    loss: dict = dataclasses.field(default_factory=dict)
    tau: float = vocab.RUN_PARAMS["tau"].default  # MCL only
    every: int = vocab.RUN_PARAMS["every"].default  # MCL only
    # cached: teacher / frozen-student logits computed once (or read from the logits cache) and
    # reused every epoch; live: forwarded every step. Augmentation needs live targets.
    targets: str = "cached"
    augmentation: str = "none"  # a gkt.zoo.transforms.AUGMENTATIONS level
    subset_per_class: int | None = vocab.RUN_PARAMS["subset_per_class"].default  # a seeded stratified subset of train
    seed: int = vocab.RUN_PARAMS["seed"].default
    workers: int = vocab.RUN_PARAMS["workers"].default
    eval_batch_size: int = vocab.RUN_PARAMS["eval_batch_size"].default
    eval_every: int = vocab.RUN_PARAMS["eval_every"].default  # evaluate on val every this many epochs (and after the last)

    @classmethod
    def from_dict(cls, d: dict) -> "TransferConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise GktError(f"unknown transfer settings {unknown} (config transfer): use {sorted(known)}")
        return cls(**d)


FIELDS = frozenset(f.name for f in dataclasses.fields(TransferConfig)) - {"method", "loss"}


def resolve(method: str, defaults: dict | None = None, hparams: dict | None = None) -> TransferConfig:
    """The run settings of `method` from the config's `transfer.defaults` and `transfer.hparams`."""
    stray = sorted(set(defaults or {}) - FIELDS)
    if stray:
        raise GktError(f"transfer.defaults has {stray}, which are not run settings: move loss hyperparameters "
                       f"to transfer.hparams.<method>; run settings are {sorted(FIELDS)}")
    own = (hparams or {}).get(method) or {}
    flat = {**(defaults or {}), **vocab.method_defaults(method), **own}
    for key, value in flat.items():
        if key in FIELDS:
            where = f"transfer.hparams.{method}" if key in own else "transfer.defaults"
            vocab.check_value(key, value, where)
    if flat.get("targets", "cached") not in vocab.TARGET_MODES:
        raise GktError(f"transfer.defaults.targets = {flat['targets']!r}: use one of {', '.join(vocab.TARGET_MODES)}")
    loss = vocab.loss_hparams(method, {k: v for k, v in flat.items() if k not in FIELDS}, f"transfer.hparams.{method}")
    return TransferConfig.from_dict({"method": method, "loss": loss, **{k: v for k, v in flat.items() if k in FIELDS}})
