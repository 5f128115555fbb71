"""What is known about a (teacher, student) pair before any transfer between them
(docs/method.md#pair-features), and the KL+DP transfers measured so far.

* pair statistics of every ordered pair from the val caches (`gkt.complementary.stats.all_pair_stats`);
* the DP routing share on the transfer set, from the train-split caches: the share of transfer samples
  on which KL+DP would distil from the teacher, i.e. whose true-class probability under the teacher
  exceeds the frozen student's (docs/method.md#kl-dist-with-data-partitioning, ties to the student);
* zoo metadata (family, parameters, whether the teacher is a random-init control);
* measured: the final Δtransf of every single-teacher KL+DP run in `transfer/kl_dp/`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from gkt.complementary.stats import AllPairs, all_pair_stats, stack_predictions
from gkt.errors import GktError
from gkt.logits.cache import read_predictions
from gkt.recommend.jobs import METHOD

log = logging.getLogger(__name__)


def zoo_records(results: Path) -> dict:
    """name -> ModelRecord of every zoo model of `results`, by name."""
    from gkt.zoo.store import read_record

    names = sorted(p.stem for p in (results / "zoo").glob("*.json"))
    if not names:
        raise GktError(f"no zoo records in {results / 'zoo'}: run the zoo stage first (snakemake --until zoo_model)")
    return {name: read_record(results / "zoo", name) for name in names}


def _caches(results: Path, split: str, records: dict) -> dict:
    """The prediction caches of `split` that exist for the zoo models, each made by its model's weights."""
    caches = {}
    for name, record in records.items():
        path = results / "logits" / split / f"{name}.parquet"
        if not path.exists():
            continue
        caches[name] = read_predictions(path, num_classes=record.num_classes, record=record)
    return caches


def val_pair_stats(results: Path, models: list[str] | None = None) -> tuple[list[str], AllPairs]:
    """Pair statistics of every ordered pair of `models` (default: every zoo model with a val cache)."""
    records = zoo_records(results)
    names = models or list(records)
    unknown = sorted(set(names) - set(records))
    if unknown:
        raise GktError(f"models {unknown} have no zoo record in {results / 'zoo'}: run the zoo stage for them")
    caches = _caches(results, "val", {m: records[m] for m in names})
    missing = [m for m in names if m not in caches]
    if models and missing:
        raise GktError(f"no val logits cache for {missing} in {results / 'logits' / 'val'}: run the logits stage "
                       f"(snakemake {results / 'logits' / 'val' / (missing[0] + '.parquet')})")
    if missing:
        log.warning("left out, no val logits cache: %s (compute them with the logits stage)", ", ".join(missing))
    if len(caches) < 2:
        raise GktError(f"{len(caches)} zoo model(s) with a val logits cache in {results}: pairs need two or more; "
                       f"run the logits stage")
    preds, labels = stack_predictions(caches)
    return list(caches), all_pair_stats(preds, labels)


def transfer_rows(labels: np.ndarray, subset_per_class: int | None, seed: int) -> np.ndarray:
    """Rows of the train split that form the transfer set (docs/method.md#transfer-data-and-targets)."""
    if not subset_per_class:
        return np.arange(len(labels))
    from gkt.data.base import stratified_indices  # the transfer stage's own subset draw

    return stratified_indices(labels, subset_per_class, seed)


def dp_route_shares(results: Path, records: dict, models: list[str], students: list[str],
                    subset_per_class: int | None, seed: int) -> np.ndarray:
    """[len(models), len(students)]: share of the transfer set that KL+DP routes to teacher `models[i]`
    for student `students[j]` (NaN where either train-split cache is missing)."""
    caches = _caches(results, "train", {m: records[m] for m in models})
    missing = [m for m in models if m not in caches]
    if missing:
        log.warning("no train-split logits cache for %s: their pairs get no DP routing share and stay unranked "
                    "(compute them with snakemake %s)", ", ".join(missing),
                    results / "logits" / "train" / f"{missing[0]}.parquet")
    out = np.full((len(models), len(students)), np.nan)
    if not caches:
        return out
    _, labels = stack_predictions(caches)  # refuses caches of other samples or labels
    rows = transfer_rows(labels, subset_per_class, seed)
    have = [i for i, m in enumerate(models) if m in caches]
    p = np.stack([caches[models[i]].p_label[rows] for i in have])  # [M', n_transfer]
    for j, s in enumerate(students):
        if s in caches:
            # Strictly greater: DP gives ties to the frozen student (docs/method.md#kl-dist-with-data-partitioning).
            out[have, j] = (p > caches[s].p_label[rows][None, :]).mean(axis=1)
    return out


def pair_features(results: Path, students: list[str] | None = None, subset_per_class: int | None = None,
                  seed: int = 0) -> pl.DataFrame:
    """One row per ordered (teacher, student) pair of the zoo, students limited to `students` (default:
    every zoo model that is not a random-init control): pair statistics, DP routing share, metadata."""
    records = zoo_records(results)
    models, stats = val_pair_stats(results)
    controls = {m for m in models if records[m].source == "random"}
    students = students or [m for m in models if m not in controls]
    unknown = [s for s in students if s not in models]
    if unknown:
        raise GktError(f"student {unknown[0]!r} is not a zoo model with a val logits cache in {results}: choose one "
                       f"of {', '.join(m for m in models if m not in controls)}")
    route = dp_route_shares(results, records, models, students, subset_per_class, seed)
    index = {m: i for i, m in enumerate(models)}
    t_idx = np.array([i for s in students for i in range(len(models)) if i != index[s]], dtype=np.intp)
    s_idx = np.array([index[s] for s in students for i in range(len(models)) if i != index[s]], dtype=np.intp)
    col = np.array([j for j, s in enumerate(students) for i in range(len(models)) if i != index[s]], dtype=np.intp)
    n, right = stats.n, stats.right
    teachers = [models[i] for i in t_idx]
    return pl.DataFrame({
        "student": [models[i] for i in s_idx],
        "teacher": teachers,
        "rho_pos": stats.pos_flips[t_idx, s_idx] / n,
        "rho_neg": stats.neg_flips[t_idx, s_idx] / n,
        "kappa": stats.kappa[t_idx, s_idx],
        "delta_acc": right[t_idx] / n - right[s_idx] / n,
        "dp_route": route[t_idx, col],
        "acc_t": right[t_idx] / n,
        "acc_s": right[s_idx] / n,
        "teacher_family": [records[t].family for t in teachers],
        "teacher_params": [records[t].params for t in teachers],
        "teacher_is_control": [t in controls for t in teachers],
    }, schema_overrides={"teacher_params": pl.Int64}).with_columns(pl.col("dp_route").fill_nan(None))


def measured_runs(results: Path) -> pl.DataFrame:
    """teacher, student, delta_transf, epochs, lr of the last epoch of every single-teacher KL+DP run."""
    from gkt.io import read_parquet

    rows = []
    for path in sorted((results / "transfer" / METHOD).glob("*/metrics.parquet")):
        table = read_parquet(path, "transfer metrics", missing="", damaged="delete its run folder and rerun the run",
                             columns=["teacher", "student", "epoch", "delta_transf", "lr"])
        last = pl.from_arrow(table).sort("epoch").tail(1)
        rows.append(last.rename({"epoch": "epochs"}).with_columns(run=pl.lit(str(path.parent))))
    if not rows:
        return pl.DataFrame(schema={"teacher": pl.String, "student": pl.String, "epochs": pl.Int32,
                                    "delta_transf": pl.Float64, "lr": pl.Float64, "run": pl.String})
    return pl.concat(rows).select("teacher", "student", "epochs", "delta_transf", "lr", "run")
