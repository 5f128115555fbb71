"""ImageNet top-1 of pretrained timm models from timm's own results table.

timm publishes its evaluation of every pretrained model as CSV files in its repository
(`results/results-imagenet.csv`: columns `model,top1,top1_err,top5,top5_err,param_count,img_size,
crop_pct,interpolation`, accuracies in percent, `param_count` in millions, `model` as `arch.tag` or,
in older tables, the bare architecture). The table is not part of the timm wheel and gkt does not ship
a copy: download it once and point `dataset.timm_results` at it. Zoo records of `timm`/`file` models
then carry that top-1 (as a fraction). Without a table their record's top-1 stays empty and the logits
stage measures it: every cache's metadata holds the top-1 on the split it was computed on.

Parameters are never taken from the table (gkt counts them on the model) and neither is the family
(gkt.zoo.families); the table's `param_count` only serves as a check that the right row was matched.
"""
from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gkt.errors import GktError

log = logging.getLogger(__name__)

COLUMNS = ("model", "top1", "top1_err", "top5", "top5_err", "param_count", "img_size", "crop_pct", "interpolation")
REQUIRED = ("model", "top1")


@dataclass(frozen=True)
class ResultRow:
    model: str
    top1: float  # percent, as timm writes it
    top5: float | None = None
    param_count: float | None = None  # millions
    img_size: int | None = None
    crop_pct: float | None = None
    interpolation: str | None = None


def _number(text: str | None, kind=float):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return kind(float(text)) if kind is int else kind(text)
    except ValueError:
        return None


def read_results(path: str | os.PathLike) -> dict[str, ResultRow]:
    """All rows of a timm-format results CSV, keyed by `model`; validated, cached per file version."""
    path = Path(path)
    if not path.is_file():
        raise GktError(
            f"timm results table {path} does not exist (config key dataset.timm_results): download "
            f"results/results-imagenet.csv from timm's repository there, or remove the key to let the "
            f"logits stage measure top-1"
        )
    stat = path.stat()
    return _read(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _read(path: str, _mtime: int, _size: int) -> dict[str, ResultRow]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise GktError(
                f"timm results table {path} lacks column(s) {missing} (has {header[:9]}): expected timm's "
                f"format {','.join(COLUMNS)}"
            )
        rows: dict[str, ResultRow] = {}
        for line, raw in enumerate(reader, start=2):
            raw = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            name = raw["model"]
            top1 = _number(raw["top1"])
            if not name or top1 is None or not 0.0 <= top1 <= 100.0:
                raise GktError(
                    f"timm results table {path}, line {line}: model {name!r} has top1 {raw['top1']!r}; "
                    f"expected a percentage 0..100"
                )
            row = ResultRow(
                model=name, top1=top1, top5=_number(raw.get("top5")), param_count=_number(raw.get("param_count")),
                img_size=_number(raw.get("img_size"), int), crop_pct=_number(raw.get("crop_pct")),
                interpolation=raw.get("interpolation") or None,
            )
            if name in rows and rows[name].top1 != top1:
                raise GktError(
                    f"timm results table {path}, line {line}: model {name!r} appears twice with different "
                    f"top1 ({rows[name].top1} and {top1}); keep one row per model"
                )
            rows[name] = row
    if not rows:
        raise GktError(f"timm results table {path} has no rows")
    return rows


def _default_tag(arch: str) -> str | None:
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(arch)
    return getattr(cfg, "tag", None) if cfg is not None else None


def lookup(rows: dict[str, ResultRow], arch: str) -> ResultRow | None:
    """The row of timm model `arch` (`resnet50.a1_in1k`, or bare `resnet50` = timm's default tag).

    Tables list models as `arch.tag`; older ones list only the bare architecture, which stands for
    its default pretrained tag and so only matches when that is the tag asked for.
    """
    if arch in rows:
        return rows[arch]
    base, _, tag = arch.partition(".")
    default = _default_tag(base)
    if not tag:
        return rows.get(f"{base}.{default}") if default else None
    if tag == default:
        return rows.get(base)
    return None


def timm_top1(path: str | os.PathLike, arch: str, params: int | None = None) -> float | None:
    """ImageNet top-1 of `arch` as a fraction 0..1, or None (logged) when the table has no row for it.

    With `params` (counted on the model), a table whose `param_count` disagrees by more than 2 % is
    logged: the row probably belongs to another variant.
    """
    row = lookup(read_results(path), arch)
    if row is None:
        log.warning("%s is not in the timm results table %s: top-1 left to the logits stage", arch, path)
        return None
    if params and row.param_count and abs(row.param_count * 1e6 - params) > 0.02 * params:
        log.warning("%s: the timm results table says %.2fM parameters, the model has %.2fM: check the row (%s)",
                    arch, row.param_count, params / 1e6, row.model)
    return row.top1 / 100.0
