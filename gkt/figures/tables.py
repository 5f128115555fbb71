"""Render functions of the paper's tables: each takes the rows of its query (gkt/sql/<id>.sql) and
returns the display table (a DataFrame of strings) written to <id>.md; <id>.csv holds the query's rows
unrounded. Transfer deltas are in percentage points, as in the paper."""
from __future__ import annotations

import pandas as pd

from gkt.figures import style as st
from gkt.figures.registry import register_figure

TRANSFER = ("transfer_final", "transfer")


def _pm(mean, std) -> str:
    return st.fmt_pm(None if pd.isna(mean) else float(mean), None if pd.isna(std) else float(std))


def _pct(v, digits=2, sign=False) -> str:
    if v is None or pd.isna(v):
        return "–"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def _per_student_methods(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    students = df.drop_duplicates("student")[["student", "student_acc_pct"]]
    out = students.rename(columns={"student": "Student", "student_acc_pct": "acc. [%]"}).reset_index(drop=True)
    out["acc. [%]"] = out["acc. [%]"].map(lambda v: _pct(v))
    for m in methods:
        rows = df[df.method == m].set_index("student")
        out[st.method_label(m)] = [
            _pm(rows.mean_delta_transf_pct.get(s), rows.std_delta_transf_pct.get(s)) if s in rows.index else "–"
            for s in students.student]
    return out


def _mean_row(df: pd.DataFrame, methods: list[str], label: str) -> dict:
    row = {"Student": label, "acc. [%]": ""}
    for m in methods:
        means = df.loc[df.method == m, "mean_delta_transf_pct"]
        row[st.method_label(m)] = _pm(means.mean(), means.std()) if len(means) else "–"
    return row


@register_figure(
    "tab1", kind="table", label="Tab. 1", title="Transfer delta per student and method",
    caption="Δtransf in percentage points, mean ± standard deviation over each student's teachers, for every "
            "single-teacher method; last row: mean ± std of the students' means.",
    finding="KL-Dist + DP transfers knowledge reliably (positive mean for every student), plain distillation does "
            "not; continual-learning style regularisation makes transfer consistent across arbitrary pairs.",
    needs=[TRANSFER], empty="needs single-teacher transfer runs (stage transfer, view transfer_final)")
def tab1(df, ctx):
    methods = st.sort_methods(df.method)
    out = _per_student_methods(df, methods)
    return pd.concat([out, pd.DataFrame([_mean_row(df, methods, "mean over students")])], ignore_index=True)


@register_figure(
    "tab7", kind="table", label="Tab. 7", title="Transfer delta per teacher-student pair and method",
    caption="Δtransf in percentage points of every single-teacher run, one row per (student, teacher) pair, one "
            "column per method; accuracies in %.",
    finding="The per-pair deltas behind Table 1: KL-Dist + DP is positive for nearly every pair, including weaker "
            "teachers, where plain distillation is negative.",
    needs=[TRANSFER], empty="needs single-teacher transfer runs (stage transfer, view transfer_final)")
def tab7(df, ctx):
    methods = st.sort_methods(df.method)
    wide = df.pivot_table(index=["student", "teacher"], columns="method", values="delta_transf_pct", aggfunc="first")
    accs = df.drop_duplicates(["student", "teacher"]).set_index(["student", "teacher"])
    keys = list(dict.fromkeys(zip(df.student, df.teacher)))
    out = pd.DataFrame({
        "Student": [s for s, _ in keys],
        "acc. [%]": [_pct(accs.loc[k, "student_acc_pct"]) for k in keys],
        "Teacher": [t for _, t in keys],
        "teacher acc. [%]": [_pct(accs.loc[k, "teacher_acc_pct"]) for k in keys],
    })
    for m in methods:
        out[st.method_label(m)] = [_pct(wide.loc[k, m], sign=True) if m in wide.columns else "–" for k in keys]
    return out


@register_figure(
    "tab2", kind="table", label="Tab. 2", title="Examples: students with a stronger and a weaker teacher",
    caption="KL-Dist + DP transfer for the two most accurate students that have both a stronger and a weaker "
            "teacher, each with its strongest and its weakest teacher; accuracies in %, deltas in percentage points.",
    finding="KL-Dist + DP gains from stronger and from weaker teachers, even for students that are already strong.",
    needs=[TRANSFER],
    empty="needs KL-Dist + DP runs of a student with both a stronger and a weaker teacher (stage transfer)")
def tab2(df, ctx):
    return pd.DataFrame({
        "Student": df.student, "acc. [%]": df.student_acc_pct.map(_pct),
        "Teacher": df.teacher + " (" + df.teacher_role + ")", "teacher acc. [%]": df.teacher_acc_pct.map(_pct),
        "Δacc": df.delta_acc_pct.map(lambda v: _pct(v, sign=True)),
        "Δtransf": df.delta_transf_pct.map(lambda v: _pct(v, sign=True)),
        "gain": df.gain_pct.map(_pct), "loss": df.loss_pct.map(_pct),
    })


@register_figure(
    "tab3", kind="table", label="Tab. 3", title="Supervised vs. unsupervised KL-Dist + DP",
    caption="Δtransf (percentage points, mean ± std over teachers) of KL-Dist + DP with label-based (supervised) and "
            "confidence-based (unsupervised) data partitioning, and the DP assignment: the shares of positive- and "
            "negative-flip training samples routed to the teacher.",
    finding="Unsupervised DP performs comparably to supervised DP and sometimes better, with more variance; it "
            "routes 72 % of positive-flip and 9 % of negative-flip samples to the teacher.",
    needs=[TRANSFER], empty="needs transfer runs of method kl_dp or kl_dp_unsup (stage transfer)")
def tab3(df, ctx):
    methods = [m for m in ("kl_dp", "kl_dp_unsup") if m in set(df.method)]
    out = _per_student_methods(df, methods)
    for m in methods:
        rows = df[df.method == m].set_index("student")
        label = "sup." if m == "kl_dp" else "unsup."
        out[f"pos → teacher, {label} [%]"] = [_pct(rows.pos_to_teacher_pct.get(s), 1) for s in out.Student]
        out[f"neg → teacher, {label} [%]"] = [_pct(rows.neg_to_teacher_pct.get(s), 1) for s in out.Student]
    return pd.concat([out, pd.DataFrame([_mean_row(df, methods, "mean over students")])], ignore_index=True)


VARIANTS = [("best_single", "best single teacher"), ("mean_single", "mean single teacher"),
            ("multi_sequential", "sequential"), ("multi_parallel", "parallel"), ("multi_soup", "soup"),
            ("multi_soup_greedy", "greedy soup")]


def _multi(df, ctx):
    out = []
    for (student, teachers), rows in df.groupby(["student", "teachers"], sort=False):
        by = rows.set_index("variant")
        row = {"Student": student, "Teachers": teachers.replace("+", ", ")}
        for key, label in VARIANTS:
            if key in by.index:
                v = _pct(by.loc[key, "delta_transf_pct"], sign=True)
                if key == "best_single" and isinstance(by.loc[key, "single_teacher"], str):
                    v += f" ({by.loc[key, 'single_teacher']})"
                row[label] = v
            else:
                row[label] = "–"
        out.append(row)
    return pd.DataFrame(out)


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
                f"teachers into the same student.",
        finding=_finding, needs=[TRANSFER],
        empty=f"needs multi-teacher runs with {_name} (methods multi_*, objective {_obj}; stage transfer)",
    )(_multi)


@register_figure(
    "tab8", kind="table", label="Tab. 8", title="Change of positive and negative flips per student",
    caption="KL-Dist + DP: change of the teacher's positive-flip share Δρ_pos and negative-flip share Δρ_neg over "
            "the student through transfer, and Δtransf, in percentage points of the val samples, mean ± std over "
            "each student's teachers.",
    finding="Transfer lowers ρ_pos (the student learns the teacher's complementary knowledge) while ρ_neg stays "
            "about the same (the student keeps its own).",
    needs=[TRANSFER], empty="needs KL-Dist + DP (method kl_dp) transfer runs (stage transfer)")
def tab8(df, ctx):
    return pd.DataFrame({
        "Student": df.student, "acc. [%]": df.student_acc_pct.map(_pct), "teachers": df.teachers.astype(str),
        "Δtransf": [_pm(m, s) for m, s in zip(df.mean_delta_transf_pct, df.std_delta_transf_pct)],
        "Δρ_pos": [_pm(m, s) for m, s in zip(df.mean_delta_rho_pos_pct, df.std_delta_rho_pos_pct)],
        "Δρ_neg": [_pm(m, s) for m, s in zip(df.mean_delta_rho_neg_pct, df.std_delta_rho_neg_pct)],
    })
