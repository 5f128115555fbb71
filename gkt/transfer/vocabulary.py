"""The transfer vocabulary, in one place: methods and their hyperparameters (defaults and allowed
values), the MCL suffix, multi-teacher modes and soup names, and the run-folder format.

Configs, the CLI, the Snakemake rules, the job planner, the losses, the database and the figures all
read these names from here; adding a transfer method means registering its loss class
(`gkt/transfer/losses.py`) and adding its hyperparameters to `LOSS_PARAMS`. No torch: Snakemake imports this at
parse time, so every value is checked before any job starts (docs/method.md#transfer-methods).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gkt.errors import GktError


@dataclass(frozen=True)
class Param:
    """One loss hyperparameter: its default and the interval it must lie in."""

    default: float | int | None
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False  # True: low itself is not allowed
    high_open: bool = False
    integer: bool = False

    def problem(self, value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.integer and value != int(value)):
            return f"must be {'an integer' if self.integer else 'a number'}"
        if math.isnan(value) or value < self.low or value > self.high or (self.low_open and value == self.low) \
                or (self.high_open and value == self.high):
            if self.high == math.inf:
                return f"must be {'>' if self.low_open else '>='} {self.low:g}"
            lo, hi = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"must be in {lo}{self.low:g}, {self.high:g}{hi}"
        return None


def _positive(default, integer=False) -> Param:
    return Param(default, 0, low_open=True, integer=integer)


def _unit(default, high_open=False) -> Param:
    return Param(default, 0, 1, high_open=high_open)


TEMPERATURE = _positive(1.0)

# Loss hyperparameters of every registered loss (docs/method.md#transfer-methods). XE-KL's λ is the
# most distillation-heavy value of the paper's grid; CD weights its two terms 1:1; CRD uses Tian et
# al.'s settings.
LOSS_PARAMS: dict[str, dict[str, Param]] = {
    "kl": {"temperature": TEMPERATURE, "lam": _unit(1.0), "smoothing": _unit(0.0, high_open=True)},
    "xekl": {"temperature": TEMPERATURE, "lam": _unit(0.5), "smoothing": _unit(0.0, high_open=True)},
    "xekl_ls": {"temperature": TEMPERATURE, "lam": _unit(0.5), "smoothing": _unit(0.1, high_open=True)},
    "kl_topk": {"temperature": TEMPERATURE, "lam": _unit(1.0), "smoothing": _unit(0.0, high_open=True),
                "k": _positive(10, integer=True)},
    "kl_dp": {"temperature": TEMPERATURE, "lam": _unit(1.0), "smoothing": _unit(0.0, high_open=True)},
    "kl_dp_unsup": {"temperature": TEMPERATURE, "lam": _unit(1.0), "smoothing": _unit(0.0, high_open=True)},
    "cd": {"temperature": TEMPERATURE, "lam": _unit(0.5)},
    "crd": {"feat_dim": _positive(128, integer=True), "nce_k": _positive(16384, integer=True),
            "nce_t": _positive(0.07), "nce_momentum": _unit(0.5), "beta": _unit(0.8)},
}

# MCL (momentum-based weight interpolation, Stojanovski et al. 2022) wraps any loss: `<loss>_mcl`
# (docs/method.md#mcl).
MCL_SUFFIX = "_mcl"
MCL_PARAMS = {"tau": Param(0.9999, 0, 1, low_open=True, high_open=True), "every": _positive(2, integer=True)}

# Run settings with their defaults and allowed values: the one home of both (TransferConfig's fields
# default to them; the rest of TransferConfig is free-form or checked where used). subset_per_class:
# none = the whole train split.
RUN_PARAMS = {
    # lr: the paper's, except where METHOD_LR says otherwise
    "lr": _positive(1e-4), "momentum": _unit(0.9, high_open=True), "weight_decay": Param(1e-3, 0),
    "epochs": Param(20, 0, integer=True), "batch_size": _positive(128, integer=True),
    "eval_batch_size": _positive(512, integer=True), "eval_every": _positive(1, integer=True),
    "workers": Param(0, 0, integer=True),
    "subset_per_class": Param(None, 0, low_open=True, integer=True), "seed": Param(0, 0, integer=True), **MCL_PARAMS,
}
TARGET_MODES = ("cached", "live")

# The paper's learning rate of each method (Supp. A); `transfer.hparams` overrides it per config.
METHOD_LR = {"xekl_mcl": 0.01}
DEFAULT_LR = RUN_PARAMS["lr"].default
# XE-KL+MCL's paper setting: λ 0.7 (Supp. A.1).
METHOD_LOSS_OVERRIDES = {"xekl_mcl": {"lam": 0.7}}


def split_method(method: str) -> tuple[str, bool]:
    """`'xekl_mcl'` → `('xekl', True)`: any loss combines with MCL through the `_mcl` suffix."""
    if method.endswith(MCL_SUFFIX) and method[: -len(MCL_SUFFIX)] in LOSS_PARAMS:
        return method[: -len(MCL_SUFFIX)], True
    return method, False


def known_methods() -> list[str]:
    names = sorted(LOSS_PARAMS)
    return names + [n + MCL_SUFFIX for n in names]


def check_method(method: str) -> tuple[str, bool]:
    base, mcl = split_method(method)
    if base not in LOSS_PARAMS:
        raise GktError(f"unknown transfer method {method!r}: choose one of {', '.join(known_methods())}")
    return base, mcl


def method_defaults(method: str) -> dict:
    """Every hyperparameter of `method` with its default: the loss's, MCL's with the suffix, and lr."""
    base, mcl = check_method(method)
    out = {k: p.default for k, p in LOSS_PARAMS[base].items()}
    if mcl:
        out.update({k: p.default for k, p in MCL_PARAMS.items()})
    out.update(METHOD_LOSS_OVERRIDES.get(method, {}))
    out["lr"] = METHOD_LR.get(method, DEFAULT_LR)
    return out


def check_value(name: str, value, where: str) -> None:
    param = RUN_PARAMS.get(name)
    if param is None:
        return
    if value is None and name == "subset_per_class":
        return
    problem = param.problem(value)
    if problem:
        raise GktError(f"{where}.{name} = {value!r} {problem}: fix it in the config")


def loss_hparams(method: str, values: dict, where: str) -> dict:
    """The loss's hyperparameters of `method`: defaults, then `values`; unknown or out-of-range ones
    are errors naming the config key."""
    base, _ = check_method(method)
    params = LOSS_PARAMS[base]
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise GktError(f"{where}: {unknown} are not hyperparameters of {base!r}; it takes {sorted(params)} "
                       f"(and the run settings lr, epochs, ...)")
    out = {k: p.default for k, p in params.items()} | dict(values)
    for k, v in out.items():
        problem = params[k].problem(v)
        if problem:
            raise GktError(f"{where}.{k} = {v!r} {problem}: fix it in the config")
    return out


# ------------------------------------------------------------------------------ multi-teacher runs
MULTI_PREFIX = "multi_"
MULTI_MODES = ("sequential", "parallel", "soup")
ORDERS = ("ascending", "descending")
# The defaults of a multi-teacher run (config transfer.multi[], `gkt transfer-multi`): the sequential
# order by val accuracy, weakest first, and the greedy soup's held-out share of the transfer set.
MULTI_ORDER = "ascending"
MULTI_HOLDOUT = 0.1
# The soup job writes the uniform soup to multi_soup/ and the greedy soup beside it.
GREEDY_SOUP = "multi_soup_greedy"
TEACHER_SEP = "+"  # multi-teacher runs name their teachers joined by it
PAIR_SEP = "__"  # <teacher>__<student>


def multi_problem(order: str, holdout: float) -> str | None:
    """What is wrong with a multi-teacher run's order and held-out share, or None."""
    if order not in ORDERS:
        return f"order = {order!r}: use one of {', '.join(ORDERS)}"
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0.0 < holdout < 1.0:
        return f"holdout = {holdout!r}: the soup's held-out share must lie in (0, 1)"
    return None


def multi_method(mode: str) -> str:
    if mode not in MULTI_MODES:
        raise GktError(f"unknown multi-teacher mode {mode!r}: use one of {', '.join(MULTI_MODES)}")
    return MULTI_PREFIX + mode


def multi_mode(method: str) -> str | None:
    """The mode of a multi-teacher run's method name (`multi_soup_greedy` → `soup`), else None."""
    if method == GREEDY_SOUP:
        return "soup"
    return method.removeprefix(MULTI_PREFIX) if method.startswith(MULTI_PREFIX) else None


# --------------------------------------------------------------------------------- run folders
# A run folder is `<method folder>/<teacher(s)>__<student>` under results/<name>/transfer. Single-teacher
# runs: the method folder is the method, which is also the run's objective (its loss). Multi-teacher
# runs: `multi_<mode>-<objective>` (`multi_sequential-kl_dp`, `multi_soup_greedy-kl`): the method says
# how the teachers are combined and the objective which loss transfers, so KL-Dist and KL+DP runs of the
# same teachers and student keep separate folders, and every run stays two levels deep (the database
# reads transfer/*/*/metrics.parquet). Folders written before the objective was part of the name
# (`multi_<mode>/...`) still parse, with objective None: their metrics.parquet records it.
OBJECTIVE_SEP = "-"
# Model names as the zoo schema allows them, minus the pair separator and a trailing '_'.
MODEL_RE = r"[A-Za-z0-9]+(?:[_.-][A-Za-z0-9]+)*"
SINGLE_METHOD_RE = r"(?!multi_)[a-z0-9_]+"
OBJECTIVE_RE = r"[a-z0-9_]+"
RUN_RE = re.compile(rf"(?P<method>[a-z0-9_]+)(?:{OBJECTIVE_SEP}(?P<objective>{OBJECTIVE_RE}))?/"
                    rf"(?P<teacher>{MODEL_RE}(?:\+{MODEL_RE})*){PAIR_SEP}(?P<student>{MODEL_RE})")


def method_folder(method: str, objective: str | None = None) -> str:
    """The first level of a run folder: the method, and for multi-teacher runs their objective."""
    if multi_mode(method) is None:
        if objective not in (None, method):
            raise GktError(f"single-teacher method {method!r} has objective {objective!r}: its objective is the method")
        return method
    if not objective:
        raise GktError(f"multi-teacher run {method!r} needs its objective (the transfer loss, e.g. kl_dp)")
    check_method(objective)
    return f"{method}{OBJECTIVE_SEP}{objective}"


def run_path(method: str, teachers: str | list[str], student: str, objective: str | None = None) -> str:
    """A run's folder relative to `results/<name>/transfer`: `<method folder>/<teacher(s)>__<student>`."""
    teacher = teachers if isinstance(teachers, str) else TEACHER_SEP.join(teachers)
    return f"{method_folder(method, objective)}/{teacher}{PAIR_SEP}{student}"


def parse_run_path(path: str) -> dict:
    """`run_path`'s inverse: {method, objective, teacher, student} of a run folder (trailing parts
    ignored). A single-teacher run's objective is its method; a multi-teacher folder of the layout
    before objectives were named (`multi_<mode>/...`) has objective None."""
    parts = str(path).replace("\\", "/").strip("/").split("/")
    for i in range(len(parts) - 1):
        m = RUN_RE.fullmatch("/".join(parts[i:i + 2]))
        if m and (m["objective"] is None or multi_mode(m["method"]) is not None):
            found = m.groupdict()
            if multi_mode(found["method"]) is None:
                found["objective"] = found["method"]
            return found
    raise GktError(f"{path} is not a transfer run folder <method>/<teacher>__<student> "
                   f"(multi-teacher: multi_<mode>{OBJECTIVE_SEP}<objective>/<t1+t2+...>__<student>)")
