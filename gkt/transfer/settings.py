"""Run settings and the per-method defaults of SPEC.md §5 (no torch: Snakemake imports this at parse time).

Settings resolve in three layers, later wins: the config's `transfer.defaults` (budget, batch size,
targets mode, ...), `METHOD_DEFAULTS[method]` (the paper's hyperparameters), the config's
`transfer.hparams[method]`. Hyperparameters are written flat; keys that are not `TransferConfig`
fields go to the loss (temperature, lam, k, smoothing, CRD's feat_dim, ...).
"""
from __future__ import annotations

import dataclasses

from gkt.errors import GktError

MCL_SUFFIX = "_mcl"


@dataclasses.dataclass
class TransferConfig:
    """One run's settings; `loss` holds the loss's hyperparameters (temperature, lam, k, ...)."""

    method: str
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 1e-3
    loss: dict = dataclasses.field(default_factory=dict)
    tau: float = 0.9999  # MCL only
    every: int = 2  # MCL only
    # cached: teacher / frozen-student logits computed once (or read from the logits cache) and
    # reused every epoch; live: forwarded every step. Augmentation needs live targets.
    targets: str = "cached"
    augmentation: str = "none"  # a gkt.zoo.transforms.AUGMENTATIONS level
    subset_per_class: int | None = None  # transfer on a seeded stratified subset of the train split
    seed: int = 0
    workers: int = 0
    eval_batch_size: int = 512

    @classmethod
    def from_dict(cls, d: dict) -> "TransferConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise GktError(f"unknown transfer settings {unknown} (config transfer): use {sorted(known)}")
        return cls(**d)


FIELDS = frozenset(f.name for f in dataclasses.fields(TransferConfig)) - {"method", "loss"}

# SPEC.md §5. XE-KL's λ and lr are the grid's values the paper found best on average (Supp. A.1);
# CD: 1:1 weighting, lr 1e-4 (Supp. A.2); CRD: Tian et al.'s loss settings at the shared lr.
METHOD_DEFAULTS: dict[str, dict] = {
    "kl": {"lr": 1e-4, "temperature": 1.0},
    "xekl": {"lr": 1e-4, "temperature": 1.0, "lam": 0.5},
    "xekl_ls": {"lr": 1e-4, "temperature": 1.0, "lam": 0.5, "smoothing": 0.1},
    "kl_topk": {"lr": 1e-4, "temperature": 1.0, "k": 10},
    "kl_dp": {"lr": 1e-4, "temperature": 1.0},
    "kl_dp_unsup": {"lr": 1e-4, "temperature": 1.0},
    "cd": {"lr": 1e-4, "temperature": 1.0, "lam": 0.5},
    "crd": {"lr": 1e-4, "feat_dim": 128, "nce_k": 16384, "nce_t": 0.07, "nce_momentum": 0.5, "beta": 0.8},
    "xekl_mcl": {"lr": 0.01, "temperature": 1.0, "lam": 0.7, "tau": 0.9999, "every": 2},
}
MCL_DEFAULTS = {"tau": 0.9999, "every": 2}


def method_defaults(method: str) -> dict:
    """SPEC defaults of a method; `<loss>_mcl` without its own entry = the loss's plus MCL's."""
    if method in METHOD_DEFAULTS:
        return dict(METHOD_DEFAULTS[method])
    base = method[: -len(MCL_SUFFIX)] if method.endswith(MCL_SUFFIX) else None
    if base in METHOD_DEFAULTS:
        return {**METHOD_DEFAULTS[base], **MCL_DEFAULTS}
    known = sorted(METHOD_DEFAULTS) + [m + MCL_SUFFIX for m in sorted(METHOD_DEFAULTS) if not m.endswith(MCL_SUFFIX)]
    raise GktError(f"unknown transfer method {method!r}: choose one of {', '.join(known)}")


def resolve(method: str, defaults: dict | None = None, hparams: dict | None = None) -> TransferConfig:
    """The run settings of `method` from the config's `transfer.defaults` and `transfer.hparams`."""
    stray = sorted(set(defaults or {}) - FIELDS)
    if stray:
        raise GktError(f"transfer.defaults has {stray}, which are not run settings: move loss hyperparameters "
                       f"to transfer.hparams.<method>; run settings are {sorted(FIELDS)}")
    flat = {**(defaults or {}), **method_defaults(method), **((hparams or {}).get(method) or {})}
    loss = {k: v for k, v in flat.items() if k not in FIELDS}
    return TransferConfig.from_dict({"method": method, "loss": loss, **{k: v for k, v in flat.items() if k in FIELDS}})
