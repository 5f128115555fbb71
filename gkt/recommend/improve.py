"""Improve a student with its top-K ranked teachers (docs/method.md#improving-a-student): sequential KL+DP
transfer from them (gkt.transfer.multi.run_multi, weakest first as in the paper), against single KL+DP
transfer from the top-ranked teacher alone.

The single run is the pipeline's own `transfer/kl_dp/<teacher>__<student>/` when it was made with the
same budget (epochs, learning rate); otherwise it is run here, beside the sequential run, so that both
sides of the comparison always have the same settings per teacher.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import polars as pl
import pyarrow as pa

from gkt.errors import GktError
from gkt.recommend.jobs import METHOD
from gkt.recommend.schemas import IMPROVE_SCHEMA
from gkt.transfer import vocabulary as vocab
from gkt.transfer.settings import TransferConfig, resolve
from gkt.transfer.vocabulary import TEACHER_SEP
from gkt.zoo.transforms import DEFAULT_EVAL_SIZE

log = logging.getLogger(__name__)


def kl_dp_settings(given: dict | None) -> TransferConfig:
    """KL+DP run settings: the paper's defaults under `given` (TransferConfig fields, e.g. the workflow's
    resolved settings or {"epochs": 3, "subset_per_class": 100}); loss settings merge into the defaults'."""
    given = dict(given or {})
    if given.setdefault("method", METHOD) != METHOD:
        raise GktError(f"--settings are for method {given['method']!r}: the ranking predicts {METHOD} transfers; "
                       f"drop the method key or set it to {METHOD}")
    base = dataclasses.asdict(resolve(METHOD))
    return TransferConfig.from_dict({**base, **given, "loss": {**base["loss"], **(given.get("loss") or {})}}, "--settings")


def top_teachers(ranking: pl.DataFrame, student: str, k: int, ranker: str = "model") -> list[str]:
    """The student's first `k` teachers by `ranker` (gkt.recommend.model.RANKERS: `model` follows the
    ranking's rank, the others their score column, ties by name), random-init controls left out."""
    from gkt.recommend.model import RANKERS

    if k < 2:
        raise GktError(f"--teachers {k}: sequential transfer needs two or more teachers (one is a single KL+DP run)")
    rows = ranking.filter((pl.col("student") == student) & ~pl.col("teacher_is_control"))
    if ranker == "model":
        ranked = rows.filter(pl.col("rank").is_not_null()).sort("rank")["teacher"].to_list()
        fix = "compute the missing train-split logits caches so that every zoo model can be ranked"
    else:
        column = RANKERS[ranker]
        ranked = rows.filter(pl.col(column).is_not_null()).sort([column, "teacher"], descending=[True, False])[
            "teacher"].to_list()
        fix = f"probe more of its teachers (gkt probe --student {student})" if ranker == "probe" else "add zoo models"
    if len(ranked) < k:
        raise GktError(f"{student!r} has {len(ranked)} teacher(s) ranked by {ranker}, fewer than --teachers {k}: lower "
                       f"it, or {fix}")
    return ranked[:k]


def _final(run_dir: Path) -> dict:
    from gkt.io import read_parquet

    table = read_parquet(run_dir / "metrics.parquet", "transfer metrics", missing="the run did not finish",
                         damaged="delete its folder and rerun")
    return pl.from_arrow(table).sort("epoch").row(-1, named=True)


def improve(results: Path, dataset: dict, cfg: TransferConfig, student: str, k: int, ranking: pl.DataFrame,
            measured: pl.DataFrame, out_dir: Path, threads: int | None = None, eval_size: str = DEFAULT_EVAL_SIZE,
            ranker: str = "model") -> pa.Table:
    """Run the sequential transfer from the top-k teachers (and the single run it is compared with, when
    the pipeline has none with these settings) into `out_dir`; returns the improve.parquet row."""
    from gkt.data.factory import get_dataset
    from gkt.device import setup_torch
    from gkt.transfer.multi import order_teachers, run_multi
    from gkt.transfer.run import Inputs, run_transfer

    teachers = top_teachers(ranking, student, k, ranker)
    inputs = Inputs(get_dataset(dataset), results / "zoo", results / "logits", setup_torch(threads), eval_size=eval_size)
    log.info("sequential KL+DP into %s from its top-%d teachers %s -> %s", student, k, teachers, out_dir)
    seq_dir = out_dir / "sequential"
    run_multi(inputs, cfg, "sequential", student, teachers, seq_dir)
    accuracy = dict(ranking.filter(pl.col("student") == student).select("teacher", "acc_t").iter_rows())
    order = order_teachers({t: accuracy[t] for t in teachers}, vocab.MULTI_ORDER)  # the order run_multi used

    top = teachers[0]
    same = measured.filter((pl.col("teacher") == top) & (pl.col("student") == student)
                           & (pl.col("epochs") == cfg.epochs) & (pl.col("lr") == cfg.lr))
    if same.height:
        single_dir, single = Path(same["run"][0]), float(same["delta_transf"][0])
    else:
        single_dir = out_dir / "single" / top
        log.info("no KL+DP run %s -> %s with these settings: running it in %s", top, student, single_dir)
        run_transfer(inputs, cfg, student, [top], single_dir)
        single = float(_final(single_dir)["delta_transf"])
    sequential = float(_final(seq_dir)["delta_transf"])
    singles = measured.filter(pl.col("teacher").is_in(teachers) & (pl.col("student") == student)
                              & (pl.col("epochs") == cfg.epochs) & (pl.col("lr") == cfg.lr))["delta_transf"]
    row = {
        "student": student, "k": k, "ranker": ranker, "teachers": TEACHER_SEP.join(teachers), "order_used": TEACHER_SEP.join(order),
        "sequential_delta_transf": sequential, "top_teacher": top, "top_single_delta_transf": single,
        "top_single_run": os.path.relpath(single_dir, results), "gain_over_top_single": sequential - single,
        "best_single_delta_transf": max([single, *singles.to_list()]), "epochs_per_teacher": cfg.epochs,
    }
    return pa.Table.from_pylist([row], schema=IMPROVE_SCHEMA)
