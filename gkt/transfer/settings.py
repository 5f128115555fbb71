"""Run settings (no torch: Snakemake imports this at parse time).

Settings resolve in three layers, later wins: the config's `transfer.defaults` (budget, batch size,
targets mode, ...), the method's defaults (its card, gkt.transfer.vocabulary: the paper's hyperparameters),
the config's `transfer.hparams[method]`. Hyperparameters are written flat; keys that are not
`TransferConfig` fields go to the loss (temperature, lam, k, smoothing, CRD's feat_dim, ...).

Settings enter through `TransferConfig.from_dict` alone (the config through `resolve`, the command line's
`--settings`, `gkt transfer-batch`'s runs, `gkt improve`), which checks every value once, naming the key
that holds it, so a bad one fails `snakemake -n` or the command before any model is loaded; the trainer
and the losses take what it returns as checked.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from gkt.errors import GktError
from gkt.transfer import vocabulary as vocab
from gkt.zoo.transforms import AUGMENTATIONS


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
    def from_dict(cls, d: dict, where: str | Callable[[str], str] = "--settings") -> "TransferConfig":
        """Checked settings from `d` (`method`, run settings, `loss`: the loss's hyperparameters, completed
        with the method's defaults). `where` names what holds a key in error lines: a prefix (`--settings`
        → `--settings.lr`), or a function of the key (`resolve`'s config keys)."""
        key_of = where if callable(where) else (lambda key: f"{where}.{key}")
        unknown = sorted(set(d) - FIELDS - {"method", "loss"})
        if unknown:
            raise GktError(f"unknown transfer settings {unknown} ({key_of(unknown[0])}): use {sorted(FIELDS)}")
        if "method" not in d:
            raise GktError(f"transfer settings without a method ({key_of('method')}): name the transfer method")
        vocab.check_method(d["method"])
        for key, value in d.items():
            vocab.check_value(key, value, key_of(key))
        targets, augmentation = d.get("targets", cls.targets), d.get("augmentation", cls.augmentation)
        if targets not in vocab.TARGET_MODES:
            raise GktError(f"{key_of('targets')} = {targets!r}: use one of {', '.join(vocab.TARGET_MODES)}")
        if augmentation not in AUGMENTATIONS:
            raise GktError(f"{key_of('augmentation')} = {augmentation!r}: use one of {', '.join(AUGMENTATIONS)}")
        if augmentation != "none" and targets == "cached":
            raise GktError(f"{key_of('augmentation')} = {augmentation!r} changes the teachers' targets every epoch, so "
                           f"they cannot be cached: set targets: live or augmentation: none")
        loss = vocab.loss_hparams(d["method"], d.get("loss") or {}, key_of("loss"))
        return cls(**{**d, "loss": loss})


FIELDS = frozenset(f.name for f in dataclasses.fields(TransferConfig)) - {"method", "loss"}


def resolve(method: str, defaults: dict | None = None, hparams: dict | None = None) -> TransferConfig:
    """The run settings of `method` from the config's `transfer.defaults` and `transfer.hparams`."""
    stray = sorted(set(defaults or {}) - FIELDS)
    if stray:
        raise GktError(f"transfer.defaults has {stray}, which are not run settings: move loss hyperparameters "
                       f"to transfer.hparams.<method>; run settings are {sorted(FIELDS)}")
    own = (hparams or {}).get(method) or {}
    flat = {**(defaults or {}), **vocab.method_defaults(method), **own}

    def key_of(key: str) -> str:
        # The loss's hyperparameters are written flat in transfer.hparams.<method>.
        if key == "loss" or key in own or key not in FIELDS:
            return f"transfer.hparams.{method}" + ("" if key == "loss" else f".{key}")
        return f"transfer.defaults.{key}"

    return TransferConfig.from_dict({"method": method, "loss": {k: v for k, v in flat.items() if k not in FIELDS},
                                     **{k: v for k, v in flat.items() if k in FIELDS}}, key_of)
