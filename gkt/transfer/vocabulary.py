"""The transfer vocabulary, in one place: the methods' cards (their hyperparameters with defaults and
allowed values, labels, groups and colours, declared by the loss classes), the run settings, the MCL
suffix, multi-teacher modes and soup names, and the run-folder format.

Configs, the CLI, the Snakemake rules, the job planner, the losses, the database and the figures all
read these names from here; adding a transfer method means registering its loss class with its card
(`@register(name, card=MethodCard(...))`, gkt/transfer/losses.py) and rerunning
`python scripts/method_cards.py`, which writes the cards to methods.json for the readers without torch.
No torch: Snakemake imports this at parse time, so every value is checked before any job starts
(docs/method.md#transfer-methods).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
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


def positive(default, integer=False) -> Param:
    return Param(default, 0, low_open=True, integer=integer)


def unit(default, high_open=False) -> Param:
    return Param(default, 0, 1, high_open=high_open)


@dataclass(frozen=True)
class MethodCard:
    """What everything but the trainer knows of a transfer method, declared by its registered loss class
    (`@register(name, card=...)`, gkt/transfer/losses.py): its loss's hyperparameters with their defaults
    and ranges, its label, its colour group (the paper's: distillation, continual learning, contrastive)
    and colour, its place in the paper's order of methods, and a learning rate where the paper's
    differs from the default. `mcl`: the card of its `<name>_mcl` variant where the paper has one (label,
    group, color, order, lr and `loss` defaults over the base's)."""

    params: dict
    label: str
    group: str
    color: str | None = None
    order: int | None = None
    lr: float | None = None
    loss: dict | None = None  # loss defaults over the params' (an MCL variant's)
    mcl: "MethodCard | None" = None

    def to_json(self) -> dict:
        out = {"params": {k: _changed(p) for k, p in self.params.items()}, "label": self.label,
               "group": self.group, "color": self.color, "order": self.order, "lr": self.lr, "loss": self.loss,
               "mcl": self.mcl.to_json() if self.mcl else None}
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_json(cls, d: dict) -> "MethodCard":
        return cls(**{**d, "params": {k: Param(**p) for k, p in d.get("params", {}).items()},
                      "mcl": cls.from_json(d["mcl"]) if d.get("mcl") else None})


def defaults(params: dict[str, Param]) -> dict:
    """Each parameter's default."""
    return {k: p.default for k, p in params.items()}


def _changed(param: Param) -> dict:
    """A Param's fields that differ from the dataclass defaults (no infinities in the JSON), default always."""
    fields = {f.name: f.default for f in dataclasses.fields(Param)}
    return {k: v for k, v in dataclasses.asdict(param).items() if k == "default" or v != fields[k]}


# The cards of the registered losses, as the loss classes declare them, in a file that parse-time
# readers (Snakemake, the config checks) read without importing torch: scripts/method_cards.py writes it
# from the classes, and a test fails when the two differ. A loss registered at run time (a user's, a
# test's) adds its card here too (`add_card`).
CARDS_FILE = Path(__file__).with_name("methods.json")
CARDS: dict[str, MethodCard] = {name: MethodCard.from_json(d) for name, d in json.loads(CARDS_FILE.read_text()).items()}


def add_card(name: str, card: MethodCard) -> None:
    CARDS[name] = card


# MCL (momentum-based weight interpolation, Stojanovski et al. 2022) wraps any loss: `<loss>_mcl`
# (docs/method.md#mcl).
MCL_SUFFIX = "_mcl"
MCL_PARAMS = {"tau": Param(0.9999, 0, 1, low_open=True, high_open=True), "every": positive(2, integer=True)}

# Run settings with their defaults and allowed values: the one home of both (TransferConfig's fields
# default to them; the rest of TransferConfig is free-form or checked where used). subset_per_class:
# none = the whole train split.
RUN_PARAMS = {
    # lr: the paper's, except where a method's card says otherwise
    "lr": positive(1e-4), "momentum": unit(0.9, high_open=True), "weight_decay": Param(1e-3, 0),
    "epochs": Param(20, 0, integer=True), "batch_size": positive(128, integer=True),
    "eval_batch_size": positive(512, integer=True), "eval_every": positive(1, integer=True),
    "workers": Param(0, 0, integer=True),
    "subset_per_class": Param(None, 0, low_open=True, integer=True), "seed": Param(0, 0, integer=True), **MCL_PARAMS,
}
TARGET_MODES = ("cached", "live")

DEFAULT_LR = RUN_PARAMS["lr"].default


def split_method(method: str) -> tuple[str, bool]:
    """`'xekl_mcl'` → `('xekl', True)`: any loss combines with MCL through the `_mcl` suffix."""
    if method.endswith(MCL_SUFFIX) and method[: -len(MCL_SUFFIX)] in CARDS:
        return method[: -len(MCL_SUFFIX)], True
    return method, False


def known_methods() -> list[str]:
    names = sorted(CARDS)
    return names + [n + MCL_SUFFIX for n in names]


def check_method(method: str) -> tuple[str, bool]:
    base, mcl = split_method(method)
    if base not in CARDS:
        raise GktError(f"unknown transfer method {method!r}: choose one of {', '.join(known_methods())}")
    return base, mcl


def method_card(method: str) -> MethodCard | None:
    """The card of a method name as runs and figures carry it: a loss's, its paper MCL variant's, or
    None (other MCL combinations, unknown names)."""
    base, mcl = split_method(method)
    card = CARDS.get(base)
    return (card.mcl if mcl else card) if card else None


def method_defaults(method: str) -> dict:
    """Every hyperparameter of `method` with its default: the loss's, MCL's with the suffix (and the
    paper's MCL variant's own loss defaults), and lr."""
    base, mcl = check_method(method)
    out = defaults(CARDS[base].params)
    own = method_card(method)  # None: an MCL combination the paper has no settings for
    if mcl:
        out.update(defaults(MCL_PARAMS))
    out.update((own.loss if own else None) or {})
    out["lr"] = (own.lr if own else None) or DEFAULT_LR
    return out


def _fix(key: str) -> str:
    return "fix it in the config" if key.startswith("transfer.") else "fix it"


def check_value(name: str, value, key: str) -> None:
    """A run setting's value against its range; `key` names where it was set (`transfer.defaults.lr`)."""
    param = RUN_PARAMS.get(name)
    if param is None or (value is None and name == "subset_per_class"):
        return
    problem = param.problem(value)
    if problem:
        raise GktError(f"{key} = {value!r} {problem}: {_fix(key)}")


def loss_hparams(method: str, values: dict, where: str) -> dict:
    """The loss's hyperparameters of `method`: defaults, then `values`; unknown or out-of-range ones
    are errors naming the config key."""
    base, _ = check_method(method)
    params = CARDS[base].params
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise GktError(f"{where}: {unknown} are not hyperparameters of {base!r}; it takes {sorted(params)} "
                       f"(and the run settings lr, epochs, ...)")
    out = defaults(params) | dict(values)
    for k, v in out.items():
        problem = params[k].problem(v)
        if problem:
            raise GktError(f"{where}.{k} = {v!r} {problem}: {_fix(where)}")
    return out


# ------------------------------------------------------------------------------ multi-teacher runs
# One word per idea: a run's *method* is the loss that transfers (kl, kl_dp, ...), single- or multi-teacher;
# a multi-teacher run's *mode* is how it combines its teachers.
MULTI_MODES = ("sequential", "parallel", "soup")
# The soup job writes the uniform soup (mode soup) and the greedy soup beside it, a mode of its own.
GREEDY_SOUP = "soup_greedy"
ORDERS = ("ascending", "descending")
# The defaults of a multi-teacher run (config transfer.multi[], `gkt transfer-multi`): the sequential
# order by val accuracy, weakest first, and the greedy soup's held-out share of the transfer set.
MULTI_ORDER = "ascending"
MULTI_HOLDOUT = 0.1
TEACHER_SEP = "+"  # multi-teacher runs name their teachers joined by it
PAIR_SEP = "__"  # <teacher>__<student>


def mode_problem(mode: str, modes: tuple[str, ...] = MULTI_MODES) -> str | None:
    """What is wrong with a multi-teacher mode (among `modes`: a config's, or a run folder's), or None."""
    return None if mode in modes else f"unknown multi-teacher mode {mode!r}: use one of {', '.join(modes)}"


def multi_problem(order: str, holdout: float) -> str | None:
    """What is wrong with a multi-teacher run's order and held-out share, or None."""
    if order not in ORDERS:
        return f"order = {order!r}: use one of {', '.join(ORDERS)}"
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0.0 < holdout < 1.0:
        return f"holdout = {holdout!r}: the soup's held-out share must lie in (0, 1)"
    return None


# --------------------------------------------------------------------------------- run folders
# A run folder is `<method folder>/<teacher(s)>__<student>` under results/<name>/transfer. Single-teacher
# runs: the method folder is the method. Multi-teacher runs: `multi_<mode>-<method>` (`multi_sequential-kl_dp`,
# `multi_soup_greedy-kl`), so KL-Dist and KL+DP runs of the same teachers and student keep separate folders,
# and every run stays two levels deep (the database reads transfer/*/*/metrics.parquet). Folders of an
# earlier layout without the method (`multi_<mode>/...`) are refused before any job (`legacy_multi_folders`).
MULTI_PREFIX = "multi_"
MODE_SEP = "-"
# Model names as the zoo schema allows them, minus the pair separator and a trailing '_'.
MODEL_RE = r"[A-Za-z0-9]+(?:[_.-][A-Za-z0-9]+)*"
SINGLE_METHOD_RE = r"(?!multi_)[a-z0-9_]+"
METHOD_RE = r"[a-z0-9_]+"


def method_folder(method: str, mode: str | None = None) -> str:
    """The first level of a run folder: the method, prefixed by the mode for multi-teacher runs."""
    check_method(method)
    if mode is None:
        return method
    if problem := mode_problem(mode, (*MULTI_MODES, GREEDY_SOUP)):
        raise GktError(problem)
    return f"{MULTI_PREFIX}{mode}{MODE_SEP}{method}"


def _joined(teachers: str | list[str]) -> str:
    return teachers if isinstance(teachers, str) else TEACHER_SEP.join(teachers)


def run_path(method: str, teachers: str | list[str], student: str, mode: str | None = None) -> str:
    """A run's folder relative to `results/<name>/transfer`: `<method folder>/<teacher(s)>__<student>`."""
    return f"{method_folder(method, mode)}/{_joined(teachers)}{PAIR_SEP}{student}"


def run_keys(method: str, teachers: str | list[str], student: str, mode: str | None = None) -> dict[str, str]:
    """The labels of a run's metrics rows, in the columns of the metrics files (gkt.transfer.metrics), which
    keep the names they were written with so that finished results stay valid: `method` = `multi_<mode>`
    for a multi-teacher run (else the method) and `objective` = the method. The database reads them as
    `method` and `mode` (gkt/sql/views/transfer_metrics.sql)."""
    return {"method": method if mode is None else MULTI_PREFIX + mode, "objective": method,
            "teacher": _joined(teachers), "student": student}


def legacy_multi_folders(transfer_dir: str | Path) -> list[str]:
    """Multi-teacher method folders of `transfer_dir` without a method in their name (`multi_<mode>/`, the
    layout before multi-teacher folders named their method): their runs would count beside the current folders'."""
    return sorted(str(d) for d in Path(transfer_dir).glob(f"{MULTI_PREFIX}*")
                  if d.is_dir() and MODE_SEP not in d.name)
