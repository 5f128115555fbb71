"""The predicted KL+DP transfer delta of a (teacher, student) pair, the teacher ranking built on it and
its leave-one-student-out validation against measured transfers (docs/method.md#teacher-ranking).

Score: predicted Δtransf = a + b · x with x = (ρ_pos, ρ_neg, DP routing share). The slopes b come
from a least-squares fit *within students* (features and Δtransf centred per student, so students that
gain more overall do not tilt the slopes: a ranking compares the teachers of one student); a makes the
mean residual over the fitted runs zero. The ranking of a student always comes from a fit on the other
students' runs only, so the runs of a student never inform its own ranking, and the validation below
measures exactly what the ranking would do for a student without runs. With too few runs to fit
(fewer than `MIN_DOF` within-student degrees of freedom) the ranking falls back to ρ_pos alone.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl

FEATURES = ("rho_pos", "rho_neg", "dp_route")
MIN_DOF = len(FEATURES) + 1  # within-student degrees of freedom the fit needs (one left for the residual)
RULE = "rho_pos"  # the fallback score, and a baseline
TIE_DECIMALS = 9
RANKERS = {  # ranker -> score column (the model's is `score`; random has none)
    "model": "score",
    "random": None,
    "most_accurate": "acc_t",
    "highest_rho_pos": "rho_pos",
    "probe": "probe_delta_transf",  # a short KL+DP run's Δtransf on held-out train images (gkt.recommend.probe)
}


@dataclasses.dataclass(frozen=True)
class Fit:
    intercept: float
    coef: np.ndarray  # one slope per FEATURES
    runs: int
    students: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + x @ self.coef


def fit_within(runs: pl.DataFrame) -> Fit | None:
    """Least squares of delta_transf on FEATURES, centred within each student; None with too few runs.

    `runs`: student, the FEATURES and delta_transf (rows with a missing value are left out)."""
    runs = runs.drop_nulls([*FEATURES, "delta_transf"])
    sizes = runs.group_by("student").len()
    if int((sizes["len"] - 1).clip(lower_bound=0).sum() or 0) < MIN_DOF:
        return None
    centred = runs.with_columns([(pl.col(c) - pl.col(c).mean().over("student")).alias(f"_{c}")
                                 for c in (*FEATURES, "delta_transf")])
    x_c = centred.select([f"_{c}" for c in FEATURES]).to_numpy()
    coef, *_ = np.linalg.lstsq(x_c, centred["_delta_transf"].to_numpy(), rcond=None)
    x = runs.select(FEATURES).to_numpy()
    intercept = float(runs["delta_transf"].mean() - x.mean(axis=0) @ coef)
    return Fit(intercept, coef, runs.height, int(sizes.height))


def _ranked(rows: pl.DataFrame) -> pl.DataFrame:
    """`rank` 1, 2, ... per student by descending score, ties by teacher name; NULL scores unranked (last)."""
    rows = rows.sort(["student", "score", "teacher"], descending=[False, True, False], nulls_last=True)
    position = (pl.int_range(pl.len()).over("student") + 1).cast(pl.Int32)
    return rows.with_columns(rank=pl.when(pl.col("score").is_not_null()).then(position))


def rank_teachers(features: pl.DataFrame, measured: pl.DataFrame, probes: pl.DataFrame | None = None) -> pl.DataFrame:
    """The ranking of every student's candidate teachers (columns of RANKING_SCHEMA).

    `features`: pair_features rows; `measured`: measured_runs (teacher, student, delta_transf); `probes`:
    gkt.recommend.probe.read_probes (teacher, student, probe_delta_transf), which the fit never reads."""
    runs = features.join(measured.select("teacher", "student", "delta_transf"), on=["teacher", "student"],
                         how="inner")
    parts = []
    for student, rows in features.sort("student", "teacher").group_by("student", maintain_order=True):
        fit = fit_within(runs.filter(pl.col("student") != student[0]))  # never the ranked student's own runs
        if fit is not None:
            x = rows.select(FEATURES).to_numpy()
            predicted = pl.Series(fit.predict(x)).fill_nan(None)  # NaN: a missing feature
            rows = rows.with_columns(predicted_delta_transf=predicted, score=predicted, scorer=pl.lit("fit"))
        else:
            rows = rows.with_columns(predicted_delta_transf=pl.lit(None, pl.Float64), score=pl.col(RULE),
                                     scorer=pl.lit(RULE))
        parts.append(rows.with_columns(
            fit_runs=pl.lit(fit.runs if fit else 0, pl.Int32), fit_students=pl.lit(fit.students if fit else 0, pl.Int32),
            intercept=pl.lit(fit.intercept if fit else None, pl.Float64),
            **{f"coef_{c}": pl.lit(float(fit.coef[i]) if fit else None, pl.Float64) for i, c in enumerate(FEATURES)}))
    ranked = pl.concat(parts).join(measured.select("teacher", "student", measured_delta_transf="delta_transf"),
                                   on=["teacher", "student"], how="left")
    ranked = ranked.join(probes.select("teacher", "student", "probe_delta_transf"), on=["teacher", "student"],
                         how="left") if probes is not None else ranked.with_columns(probe_delta_transf=pl.lit(None, pl.Float64))
    return _ranked(ranked)


def _top(rows: pl.DataFrame, column: str) -> dict:
    """The row with the highest `column`, ties by teacher name."""
    return rows.sort([column, "teacher"], descending=[True, False], nulls_last=True).row(0, named=True)


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None  # undefined when either side has no spread
    return float(spearmanr(a, b).statistic)


def validate(ranking: pl.DataFrame) -> pl.DataFrame:
    """Per student with two or more measured, scored teachers and a fitted ranking, and over all of them:
    Spearman correlation of each ranker's score with the measured Δtransf, whether its top pick is the
    best measured teacher, and the regret (best measured Δtransf − the pick's); the random ranker by its
    expected values. Rankings are compared on the teachers that have a measured run only; a ranker
    without a score for one of them (the probe, for a student not probed) has no row for that student."""
    known = ranking.filter(pl.col("measured_delta_transf").is_not_null() & pl.col("score").is_not_null()
                           & (pl.col("scorer") == "fit"))
    # Δtransf is a difference of two accuracies k/n: equal sample counts can differ in the last float bit,
    # so ties (best teacher, top-1 hit) are judged on values rounded far below 1/n.
    known = known.with_columns(pl.col("measured_delta_transf").round(TIE_DECIMALS))
    rows = []
    for (student,), runs in known.sort("student", "teacher").group_by("student", maintain_order=True):
        if runs.height < 2:
            continue
        measured = runs["measured_delta_transf"].to_numpy()
        best = _top(runs, "measured_delta_transf")
        common = {"student": student, "students": 1, "teachers": runs.height, "best_teacher": best["teacher"],
                  "best_delta_transf": best["measured_delta_transf"]}
        for ranker, column in RANKERS.items():
            if column is None:  # a uniformly random pick: expected values
                rows.append({**common, "ranker": ranker, "spearman": 0.0,
                             "top1_hit": float(np.mean(measured == measured.max())),
                             "regret": float(measured.max() - measured.mean()),
                             "picked_teacher": None, "picked_delta_transf": float(measured.mean())})
                continue
            if runs[column].null_count():
                continue
            pick = _top(runs, column)
            rows.append({**common, "ranker": ranker, "spearman": _spearman(runs[column].to_numpy(), measured),
                         "top1_hit": float(pick["measured_delta_transf"] == measured.max()),
                         "regret": float(measured.max() - pick["measured_delta_transf"]),
                         "picked_teacher": pick["teacher"], "picked_delta_transf": pick["measured_delta_transf"]})
    per_student = pl.DataFrame(rows, schema=_VALIDATION_COLUMNS)
    if per_student.is_empty():
        return per_student
    overall = per_student.group_by("ranker", maintain_order=True).agg(
        student=pl.lit(None, pl.String), students=pl.len().cast(pl.Int32), teachers=pl.col("teachers").sum(),
        spearman=pl.col("spearman").mean(), top1_hit=pl.col("top1_hit").mean(), regret=pl.col("regret").mean())
    return pl.concat([per_student, overall], how="diagonal_relaxed").select(list(_VALIDATION_COLUMNS))


_VALIDATION_COLUMNS = {
    "student": pl.String, "ranker": pl.String, "students": pl.Int32, "teachers": pl.Int32, "spearman": pl.Float64,
    "top1_hit": pl.Float64, "regret": pl.Float64, "picked_teacher": pl.String, "picked_delta_transf": pl.Float64,
    "best_teacher": pl.String, "best_delta_transf": pl.Float64,
}


def summary(validation: pl.DataFrame) -> str:
    """One line per ranker over all validated students (for logs and the command's output)."""
    overall = validation.filter(pl.col("student").is_null())
    if overall.is_empty():
        return "too few KL+DP runs to validate the ranking (needs students with 2+ measured teachers and a fit)"
    n = int(overall["students"][0])
    lines = [f"leave-one-student-out validation over {n} student(s), {int(overall['teachers'][0])} KL+DP runs:"]
    for r in overall.iter_rows(named=True):
        rho = "–" if r["spearman"] is None or math.isnan(r["spearman"]) else f"{r['spearman']:+.2f}"
        lines.append(f"  {r['ranker']:16s} Spearman {rho}  top-1 = best {100 * r['top1_hit']:5.1f} %  "
                     f"regret {100 * r['regret']:.2f} pp" + (f"  ({r['students']} students)" if r["students"] != n else ""))
    return "\n".join(lines)
