"""Render functions of the paper's tables: each takes the rows of its query (gkt/sql/<id>.sql) as a
polars DataFrame and returns the display table (a DataFrame of strings) written to <id>.md; <id>.csv
holds the query's rows unrounded. Transfer deltas are in percentage points, as in the paper."""
from __future__ import annotations

import math

import numpy as np
import polars as pl

from gkt.figures import style as st
from gkt.figures.registry import register_figure
from gkt.figures.summary import success_summary

TRANSFER = ("transfer_final", "transfer")
IN_DOMAIN = ("transfer_in_domain", "transfer")  # the within-data-set figures' population


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pm(mean, std, n=None) -> str:
    """'mean ± std', and with n > 1 the mean's 95 % normal interval [mean ∓ 1.96 std/√n]: what a
    reader needs to compare two cells."""
    text = st.fmt_pm(None if _missing(mean) else float(mean), None if _missing(std) else float(std))
    if n is None or n < 2 or _missing(std) or _missing(mean):
        return text
    half = 1.96 * float(std) / math.sqrt(n)
    return f"{text} {_bracket(float(mean) - half, float(mean) + half, 2, sign=True)}"


def _pct(v, digits=2, sign=False) -> str:
    if _missing(v):
        return "–"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _by_student(df: pl.DataFrame, method: str) -> dict[str, dict]:
    """The rows of `method`, by student (one per student: the queries group by student and method)."""
    return {r["student"]: r for r in df.filter(pl.col("method") == method).iter_rows(named=True)}


def _per_student_methods(df: pl.DataFrame, methods: list[str]) -> dict[str, list]:
    students = df.unique("student", keep="first", maintain_order=True)
    out = {"Student": students["student"].to_list(), "acc. [%]": [_pct(v) for v in students["student_acc_pct"]]}
    for m in methods:
        rows = _by_student(df, m)
        out[st.method_label(m)] = [
            _pm(rows[s]["mean_delta_transf_pct"], rows[s]["std_delta_transf_pct"], rows[s]["teachers"])
            if s in rows else "–"
            for s in out["Student"]]
    return out


def _mean_row(df: pl.DataFrame, methods: list[str], label: str) -> dict:
    """Mean ± sample std over the students of their mean transfer deltas, NaN left out."""
    row = {"Student": label, "acc. [%]": ""}
    for m in methods:
        rows = df.filter(pl.col("method") == m)
        means = rows["mean_delta_transf_pct"].to_numpy().astype(float)
        means = means[~np.isnan(means)]
        row[st.method_label(m)] = _pm(means.mean() if len(means) else None,
                                      means.std(ddof=1) if len(means) > 1 else None, len(means)) if rows.height else "–"
    return row


def _with_row(columns: dict[str, list], row: dict) -> pl.DataFrame:
    return pl.DataFrame({k: v + [row[k]] for k, v in columns.items()})


@register_figure(
    "tab1", kind="table", label="Tab. 1", title="Transfer delta per student and method",
    caption="Δtransf in percentage points, mean ± standard deviation over each student's teachers, for every "
            "single-teacher method, with the mean's 95 % normal interval in brackets (± 1.96 std/√n); last row: "
            "mean ± std of the students' means and its interval over students.",
    finding="KL-Dist + DP transfers knowledge reliably (positive mean for every student), plain distillation does "
            "not; continual-learning style regularisation makes transfer consistent across arbitrary pairs.",
    needs=[IN_DOMAIN], empty="needs single-teacher transfer runs within one data set (stage transfer, view transfer_in_domain)")
def tab1(df, ctx):
    methods = st.sort_methods(df["method"])
    return _with_row(_per_student_methods(df, methods), _mean_row(df, methods, "mean over students"))


@register_figure(
    "tab7", kind="table", label="Tab. 7", title="Transfer delta per teacher-student pair and method",
    caption="Δtransf in percentage points of every single-teacher run, one row per (student, teacher) pair, one "
            "column per method; accuracies in %.",
    finding="The per-pair deltas behind Table 1: KL-Dist + DP is positive for nearly every pair, including weaker "
            "teachers, where plain distillation is negative.",
    needs=[IN_DOMAIN], empty="needs single-teacher transfer runs within one data set (stage transfer, view transfer_in_domain)")
def tab7(df, ctx):
    methods = st.sort_methods(df["method"])
    pairs, delta = {}, {}  # (student, teacher) -> its first row; (student, teacher, method) -> first delta
    for r in df.iter_rows(named=True):
        key = (r["student"], r["teacher"])
        pairs.setdefault(key, r)
        if not _missing(r["delta_transf_pct"]):
            delta.setdefault((*key, r["method"]), r["delta_transf_pct"])
    out = {
        "Student": [s for s, _ in pairs],
        "acc. [%]": [_pct(r["student_acc_pct"]) for r in pairs.values()],
        "Teacher": [t for _, t in pairs],
        "teacher acc. [%]": [_pct(r["teacher_acc_pct"]) for r in pairs.values()],
    }
    for m in methods:
        out[st.method_label(m)] = [_pct(delta.get((*k, m)), sign=True) for k in pairs]
    return pl.DataFrame(out)


@register_figure(
    "tab2", kind="table", label="Tab. 2", title="Examples: students with a stronger and a weaker teacher",
    caption="KL-Dist + DP transfer for the two most accurate students that have both a stronger and a weaker "
            "teacher, each with its strongest and its weakest teacher; accuracies in %, deltas in percentage points.",
    finding="KL-Dist + DP gains from stronger and from weaker teachers, even for students that are already strong.",
    needs=[IN_DOMAIN],
    empty="needs KL-Dist + DP runs of a student with both a stronger and a weaker teacher (stage transfer)")
def tab2(df, ctx):
    return pl.DataFrame({
        "Student": df["student"], "acc. [%]": [_pct(v) for v in df["student_acc_pct"]],
        "Teacher": [f"{t} ({r})" for t, r in zip(df["teacher"], df["teacher_role"])],
        "teacher acc. [%]": [_pct(v) for v in df["teacher_acc_pct"]],
        "Δacc": [_pct(v, sign=True) for v in df["delta_acc_pct"]],
        "Δtransf": [_pct(v, sign=True) for v in df["delta_transf_pct"]],
        "gain": [_pct(v) for v in df["gain_pct"]], "loss": [_pct(v) for v in df["loss_pct"]],
    })


@register_figure(
    "tab3", kind="table", label="Tab. 3", title="Supervised vs. unsupervised KL-Dist + DP",
    caption="Δtransf (percentage points, mean ± std over teachers, the mean's 95 % normal interval in brackets) of "
            "KL-Dist + DP with label-based (supervised) and "
            "confidence-based (unsupervised) data partitioning, and the DP assignment: the shares of positive- and "
            "negative-flip training samples routed to the teacher.",
    finding="Unsupervised DP performs comparably to supervised DP and sometimes better, with more variance; it "
            "routes 72 % of positive-flip and 9 % of negative-flip samples to the teacher.",
    needs=[IN_DOMAIN], empty="needs transfer runs of method kl_dp or kl_dp_unsup (stage transfer)")
def tab3(df, ctx):
    methods = [m for m in ("kl_dp", "kl_dp_unsup") if m in set(df["method"])]
    out = _per_student_methods(df, methods)
    row = _mean_row(df, methods, "mean over students")
    for m in methods:
        rows = _by_student(df, m)
        label = "sup." if m == "kl_dp" else "unsup."
        for kind in ("pos", "neg"):
            column = f"{kind} → teacher, {label} [%]"
            out[column] = [_pct(rows.get(s, {}).get(f"{kind}_to_teacher_pct"), 1) for s in out["Student"]]
            row[column] = None  # shown as "–"
    return _with_row(out, row)


VARIANTS = [("best_single", "best single teacher"), ("mean_single", "mean single teacher"), *st.MODE_LABELS.items()]


def _multi(df, ctx):
    groups: dict[tuple, dict] = {}  # (student, teachers) -> variant -> row, in the query's order
    for r in df.iter_rows(named=True):
        groups.setdefault((r["student"], r["teachers"]), {})[r["variant"]] = r
    out = []
    for (student, teachers), by in groups.items():
        row = {"Student": student, "Teachers": teachers.replace("+", ", ")}
        for key, label in VARIANTS:
            if key in by:
                v = _pct(by[key]["delta_transf_pct"], sign=True)
                if not _missing(by[key].get("se_pct")):  # the run's 95 % interval
                    v += f" ± {1.96 * by[key]['se_pct']:.2f}"
                if key == "best_single" and isinstance(by[key]["single_teacher"], str):
                    v += f" ({by[key]['single_teacher']})"
                row[label] = v
            else:
                row[label] = "–"
        out.append(row)
    return pl.DataFrame(out)


for _tid, _obj, _name, _finding in (
    ("tab4", "kl_dp", "KL-Dist + DP",
     "Sequential KL-Dist + DP transfer beats the best single teacher (on average +59 % of its delta); parallel "
     "transfer does not, and the weight soup is worst."),
    ("tab9", "kl", "KL-Dist",
     "With plain KL distillation, multi-teacher transfer reaches only about the average single-teacher delta."),
):
    register_figure(
        _tid, kind="table", label=f"Tab. {_tid[3:]}", title=f"Multi-teacher transfer with {_name}",
        caption=f"Δtransf (percentage points) of multi-teacher {_name} transfer, sequential, parallel and soup "
                f"(uniform and greedy), against the best and the mean single-teacher {_name} transfer from the same "
                f"teachers into the same student; ± the run's 95 % interval (1.96 standard errors of its Δtransf).",
        finding=_finding, needs=[TRANSFER],
        empty=f"needs multi-teacher runs with {_name} (config transfer.multi[] with method {_obj}; stage transfer)",
    )(_multi)


@register_figure(
    "tab8", kind="table", label="Tab. 8", title="Change of positive and negative flips per student",
    caption="KL-Dist + DP: change of the teacher's positive-flip share Δρ_pos and negative-flip share Δρ_neg over "
            "the student through transfer, and Δtransf, in percentage points of the val samples, mean ± std over "
            "each student's teachers.",
    finding="Transfer lowers ρ_pos (the student learns the teacher's complementary knowledge) while ρ_neg stays "
            "about the same (the student keeps its own).",
    needs=[IN_DOMAIN], empty="needs KL-Dist + DP (method kl_dp) transfer runs (stage transfer)")
def tab8(df, ctx):
    return pl.DataFrame({
        "Student": df["student"], "acc. [%]": [_pct(v) for v in df["student_acc_pct"]],
        "teachers": df["teachers"].cast(pl.String),
        **{label: [_pm(m, s) for m, s in zip(df[f"mean_{col}_pct"], df[f"std_{col}_pct"])]
           for label, col in (("Δtransf", "delta_transf"), ("Δρ_pos", "delta_rho_pos"), ("Δρ_neg", "delta_rho_neg"))},
    })


def _ci(point, lo, hi, digits=1, sign=False) -> str:
    """`point [lo, hi]`, or the point alone when there is no interval (a single student)."""
    if _missing(point):
        return "–"
    text = _pct(point, digits, sign)
    return text if _missing(lo) else f"{text} {_bracket(lo, hi, digits, sign)}"


def _bracket(lo, hi, digits, sign=False) -> str:
    """An interval as the tables show it: `[lo, hi]`."""
    return f"[{_pct(lo, digits, sign)}, {_pct(hi, digits, sign)}]"


@register_figure(
    "success", kind="table", label="Success", title="Transfer success per method, three ways, with intervals",
    caption="Per single-teacher method: the success rate (share of runs with Δtransf > 0) as the mean over runs, "
            "as the median over students of each student's success rate (the paper's Fig. 4a statistic), and as "
            "the share of runs that are significant successes (Δtransf > 0, exact McNemar p < 0.05); the mean "
            "Δtransf in pp. Brackets: 95 % percentile bootstrap intervals over students (2,000 resamples).",
    finding="KL-Dist + DP: median success 92.5 %, mean 73.75 %, mean Δtransf +0.32 pp; KL-Dist: 32.5 %, "
            "−0.30 pp (the paper's per-student results).",
    needs=[IN_DOMAIN], empty="needs single-teacher transfer runs within one data set (stage transfer, view transfer_in_domain)")
def success(df, ctx):
    summary = success_summary(df)
    order = {m: i for i, m in enumerate(st.sort_methods(summary["method"]))}
    rows = sorted(summary.iter_rows(named=True), key=lambda r: order[r["method"]])
    return pl.DataFrame({
        "Method": [st.method_label(r["method"]) for r in rows],
        "students": [str(r["students"]) for r in rows],
        "runs": [str(r["runs"]) for r in rows],
        "success, mean over runs [%]": [_ci(r["success_mean"], r["success_mean_lo"], r["success_mean_hi"]) for r in rows],
        "success, median over students [%]": [
            _ci(r["success_median"], r["success_median_lo"], r["success_median_hi"]) for r in rows],
        "significant successes [%]": [
            _ci(r["significant_share"], r["significant_share_lo"], r["significant_share_hi"]) for r in rows],
        "mean Δtransf [pp]": [_ci(r["mean_delta_transf"], r["mean_delta_transf_lo"], r["mean_delta_transf_hi"], 2,
                                  sign=True) for r in rows],
    })



RANKERS = {"model": "model (predicted Δtransf)", "probe": "probe (short KL+DP run)", "random": "random teacher (expected)",
           "most_accurate": "most accurate teacher", "highest_rho_pos": "highest ρ_pos"}


@register_figure(
    "ranking_validation", kind="table", label="Ranking validation",
    title="Teacher ranking against measured KL+DP transfers, leave one student out",
    caption="Per student (and averaged over the students, last rows), on the teachers with a measured KL-Dist + DP "
            "run: Spearman correlation of each ranker's score with the measured Δtransf, whether its top-ranked teacher "
            "is the best measured one, and the regret (best measured Δtransf − that of the top pick, pp). Model: the "
            "predicted Δtransf fitted on the other students' runs only; random: expected values of a uniformly random "
            "teacher; most accurate: highest teacher val accuracy; highest ρ_pos; probe: the Δtransf of a short KL+DP "
            "run from each teacher, read on held-out train images (only for students whose measured teachers were all "
            "probed; its mean row is over those students).",
    finding="Not in the paper. Whether what is known before transfer picks the teacher KL+DP gains most from better "
            "than the obvious rules do.",
    needs=[("teacher_ranking", "recommend")],
    empty="has too few KL+DP runs to validate: needs two or more students with 2+ measured teachers each and enough "
          "runs of the other students to fit (stage recommend, view recommend_validation)")
def ranking_validation(df, ctx):
    def spearman(v):
        return "–" if _missing(v) else f"{v:+.2f}"

    return pl.DataFrame({
        "Student": [r["student"] or f"mean over {r['students']} students" for r in df.iter_rows(named=True)],
        "teachers": [str(v) for v in df["teachers"]],
        "ranker": [RANKERS.get(v, v) for v in df["ranker"]],
        "Spearman": [spearman(v) for v in df["spearman"]],
        "top-1 = best [%]": [_pct(100 * v, 0) for v in df["top1_hit"]],
        "regret [pp]": [_pct(v) for v in df["regret_pp"]],
        "top pick (Δtransf pp)": ["–" if t is None else f"{t} ({_pct(d, sign=True)})"
                                  for t, d in zip(df["picked_teacher"], df["picked_delta_transf_pp"])],
        "best measured (Δtransf pp)": ["–" if t is None else f"{t} ({_pct(d, sign=True)})"
                                       for t, d in zip(df["best_teacher"], df["best_delta_transf_pp"])],
    })
