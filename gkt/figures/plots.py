"""Render functions of the paper's figures: each takes the rows of its query (gkt/sql/<id>.sql) as a
polars DataFrame and returns a matplotlib Figure in the gkt style. No function reads anything but its rows
(and the context's dataset name): a figure is its SQL plus this drawing code."""
from __future__ import annotations

import math

import numpy as np
import polars as pl

from gkt.figures import style as st
from gkt.figures.registry import register_figure
from gkt.figures.summary import success_summary

COMPLEMENTARY = ("pairs", "complementary")
TRANSFER = ("transfer_final", "transfer")
PP = "[percentage points]"
DELTA_ACC = r"$\Delta$acc = acc(teacher) $-$ acc(student) " + PP
DELTA_TRANSF = r"$\Delta_{transf}$: accuracy change by transfer " + "[pp]"


def _log_axis(axis) -> None:
    """Log scale with plain tick labels at 1-2-5 steps (no mathtext powers of ten)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _rows(df: pl.DataFrame, column: str, value) -> pl.DataFrame:
    """The rows whose `column` is `value` (None: NULL)."""
    return df.filter(pl.col(column).is_null() if value is None else pl.col(column) == value)


def _sorted(df: pl.DataFrame, column: str) -> pl.DataFrame:
    """Sorted by `column`, stable, NULL last."""
    return df.sort(column, maintain_order=True, nulls_last=True)


def _mean(s: pl.Series) -> float:
    """The mean, NULL and NaN left out (NaN when nothing is left)."""
    mean = s.fill_nan(None).mean()
    return math.nan if mean is None else mean


def _err(s: pl.Series) -> np.ndarray:
    """Error bars: NULL (the std of a single value) and NaN drawn as 0."""
    return s.fill_null(0).fill_nan(0).to_numpy()


def _jitter(n: int, width: float = 0.16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-width, width, n)


def _success_boxes(ax, df, methods, value="success_rate_pct", color_by_group=True):
    """A box per method of per-student values, the students as points on top."""
    from matplotlib.patches import Patch

    data = [_rows(df, "method", m)[value].to_numpy() for m in methods]
    colors = [st.GROUP_COLORS.get(st.method_group(m), st.NEUTRAL) if color_by_group else st.method_color(m)
              for m in methods]
    box = ax.boxplot(data, positions=range(len(methods)), widths=0.55, patch_artist=True, showfliers=False,
                     medianprops={"color": "black", "lw": 1.4}, whiskerprops={"color": st.NEUTRAL},
                     capprops={"color": st.NEUTRAL}, boxprops={"lw": 0.8})
    for patch, c in zip(box["boxes"], colors):
        patch.set_facecolor(c)
        patch.set_alpha(0.45)
        patch.set_edgecolor(c)
    for i, (values, c) in enumerate(zip(data, colors)):
        ax.scatter(i + _jitter(len(values), seed=i), values, s=14, color=c, edgecolor="white", lw=0.4, zorder=3)
    ax.set_xticks(range(len(methods)), [st.method_label(m) for m in methods], rotation=25, ha="right")
    groups = [g for g in st.GROUP_COLORS if any(st.method_group(m) == g for m in methods)]
    if color_by_group and groups:
        ax.legend(handles=[Patch(color=st.GROUP_COLORS[g], alpha=0.6, label=g) for g in groups],
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), title="method group")


def _success_intervals(ax, df, methods):
    """The paper's statistic (median over students) with its bootstrap interval over students, and
    the mean over runs, beside each method's box: what a reader compares across methods."""
    summary = {r["method"]: r for r in success_summary(df).iter_rows(named=True)}
    for i, m in enumerate(methods):
        r = summary[m]
        if not np.isnan(r["success_median_lo"]):
            ax.errorbar(i + 0.36, r["success_median"], yerr=[[r["success_median"] - r["success_median_lo"]],
                                                             [r["success_median_hi"] - r["success_median"]]],
                        fmt="_", color="black", capsize=2.5, lw=1.2, zorder=4,
                        label="median, 95 % bootstrap interval" if i == 0 else None)
        ax.scatter(i + 0.36, r["success_mean"], marker="D", s=16, color="white", edgecolor="black", lw=0.8,
                   zorder=5, label="mean over runs" if i == 0 else None)
    legend = ax.get_legend()
    if legend is not None:
        ax.add_artist(legend)
        # add_artist clips it to the axes, and the layout leaves out what it thinks is clipped: unclipped, the
        # layout makes room for it beside the axes too.
        legend.set_clip_on(False)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(1.0, 0.0), fontsize="small")


# --------------------------------------------------------------------------------------------------
# §3: complementary knowledge
# --------------------------------------------------------------------------------------------------
@register_figure(
    "fig1a", label="Fig. 1a", title="Complementary knowledge vs. performance difference",
    caption="Share of complementary knowledge ρ_pos (positive prediction flips of the teacher over the student, "
            "in % of the val samples) against the accuracy difference Δacc of each (teacher, student) pair. "
            "Red crosses: pairs whose teacher is the randomly initialised control model.",
    finding="ρ_pos is large when the teacher is stronger and stays well above the random-teacher level (≈ 2 % on "
            "ImageNet) even for teachers up to 20 points weaker; a random teacher gives ≈ 0.03 %.",
    needs=[COMPLEMENTARY], empty="needs results of stage complementary (view pairs)")
def fig1a(df, ctx):
    fig, axes = st.subplots(width=5.2, height=3.4)
    ax = axes[0, 0]
    real, ctrl = df.filter(~pl.col("teacher_is_control")), df.filter(pl.col("teacher_is_control"))
    ax.scatter(real["delta_acc_pct"], real["rho_pos_pct"], s=16, alpha=0.7, color=st.FAMILY_COLORS["cnn"],
               edgecolor="white", lw=0.3, label=f"teacher-student pairs (n = {len(real)})")
    if len(ctrl):
        ax.scatter(ctrl["delta_acc_pct"], ctrl["rho_pos_pct"], s=28, marker="x", color=st.HIGHLIGHT, lw=1.3,
                   label=f"random-init control teacher (n = {len(ctrl)})")
        control_mean = _mean(ctrl["rho_pos_pct"])
        ax.axhline(control_mean, color=st.HIGHLIGHT, lw=0.8, ls=":", label=f"control mean ρ_pos = {control_mean:.2f} %")
    ax.axvline(0, color=st.NEUTRAL, lw=0.8, ls="--", zorder=1)
    ax.set_xlabel(DELTA_ACC)
    ax.set_ylabel(r"$\rho_{pos}$: positive flips [% of val samples]")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Complementary knowledge ({ctx.dataset}, {int(df['num_classes'][0])} classes)")
    ax.legend(loc="upper left")
    return fig


@register_figure(
    "fig1b", label="Fig. 1b", title="Specialisation of complementary knowledge vs. performance difference",
    caption="Entropy H(q) of each pair's distribution q of positive flips over the classes, normalised by log C "
            "(1 = spread evenly over all classes), against Δacc. Control pairs and pairs without positive flips "
            "are left out.",
    finding="The entropy drops for weaker teachers: their complementary knowledge concentrates in fewer classes "
            "(relative areas of expertise).",
    needs=[COMPLEMENTARY], empty="needs non-control pairs with positive flips (stage complementary, view pairs)")
def fig1b(df, ctx):
    fig, axes = st.subplots(width=5.2, height=3.4)
    ax = axes[0, 0]
    sc = ax.scatter(df["delta_acc_pct"], df["entropy_norm"], c=df["pos_flips"], cmap="viridis", s=16, alpha=0.85,
                    edgecolor="white", lw=0.3, norm=_lognorm(df["pos_flips"]))
    fig.colorbar(sc, ax=ax, label="positive flips of the pair [samples]", pad=0.01)
    ax.axvline(0, color=st.NEUTRAL, lw=0.8, ls="--", zorder=1)
    ax.set_xlabel(DELTA_ACC)
    ax.set_ylabel("entropy of q, H(q) / log C  [0–1]")
    ax.set_title(f"Spread of complementary knowledge over the {int(df['num_classes'][0])} classes")
    return fig


def _lognorm(values):
    from matplotlib.colors import LogNorm, Normalize

    values = np.asarray(values, dtype=float)
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    return LogNorm(max(lo, 1e-9), max(hi, lo * 1.0001 + 1e-9)) if lo > 0 and hi / lo > 8 else Normalize(lo, hi)


@register_figure(
    "fig2a", label="Fig. 2a", title="Per-class complementary knowledge for a weak, an equal and a strong teacher",
    caption="Positive flips per class as a share of the class's val samples, classes sorted in descending order, "
            "for one student (the one whose teachers span the widest accuracy range) with its weakest teacher, "
            "the teacher closest in accuracy and its strongest teacher.",
    finding="Complementary knowledge concentrates in a few classes, most of all for weaker teachers; for stronger "
            "teachers it spreads more evenly.",
    needs=[COMPLEMENTARY, ("per_class", "complementary")],
    empty="needs non-control pairs with positive flips (stage complementary, views pairs and per_class)")
def fig2a(df, ctx):
    roles = _sorted(df.group_by("teacher", maintain_order=True)
                    .agg(role=pl.col("role").unique(maintain_order=True).str.join(" = "),
                         order=pl.col("role_order").min(), delta=pl.col("delta_acc_pct").first(),
                         rho=pl.col("rho_pos_pct").first()), "order")
    fig, axes = st.subplots(ncols=len(roles), width=st.PAGE_WIDTH, height=2.9, sharey=True)
    colors = {"weak": st.FAMILY_COLORS["cnn"], "equal": st.NEUTRAL, "strong": st.FAMILY_COLORS["transformer"]}
    for ax, r in zip(axes[0], roles.iter_rows(named=True)):
        rows = _sorted(df.filter((pl.col("teacher") == r["teacher"]) & (pl.col("role_order") == r["order"])), "position")
        c = colors.get(r["role"].split(" = ")[-1], st.NEUTRAL)
        if len(rows) <= 60:
            ax.bar(rows["position"], rows["pos_share_pct"], width=0.85, color=c, alpha=0.85)
        else:
            ax.fill_between(rows["position"], rows["pos_share_pct"], step="mid", color=c, alpha=0.8, lw=0)
        ax.set_title(st.wrap(f"{r['role']} teacher: {r['teacher']}", st.PAGE_WIDTH / len(roles) - 0.4, 9.5)
                     + f"\nΔacc {r['delta']:+.1f} pp, ρ_pos {r['rho']:.1f} %", fontweight="normal")
        ax.set_xlabel("classes, sorted by positive flips")
        ax.set_xlim(0.3, rows["position"].max() + 0.7)
    axes[0, 0].set_ylabel("positive flips [% of class samples]")
    fig.suptitle(f"Student {df['student'][0]}", fontsize=9.5, fontweight="bold")
    return fig


@register_figure(
    "fig2b", label="Fig. 2b", title="Semantic similarity of the classes with the most complementary knowledge",
    caption="Mean pairwise similarity of the class-name text embeddings inside each pair's top-X % positive-flip "
            "classes (the fewest classes holding X % of its positive flips), relative to the mean similarity over "
            "all classes: (sim_set − sim_all) / sim_all. Bars: mean over non-control pairs, error bars: one "
            "standard deviation; k̄: mean number of classes in the set. Sets of one class are left out. Text "
            "encoder: {encoder} (the paper's is CLIP, open_clip:ViT-B-32/openai; all-MiniLM-L6-v2 stands in "
            "when CLIP's weights were not in the Hugging Face cache).",
    finding="The classes holding the most complementary knowledge are semantically related: about twice the "
            "average class similarity (+100 %) for the top 2–5 %, falling towards the average for larger X.",
    needs=[COMPLEMENTARY, ("semantic", "semantic")],
    empty="needs top-X % sets of at least two classes (stage semantic, view semantic)")
def fig2b(df, ctx):
    fig, axes = st.subplots(width=5.2, height=3.3)
    ax = axes[0, 0]
    pos = np.arange(len(df))
    ax.bar(pos, df["mean_rel_sim_pct"], yerr=_err(df["std_rel_sim_pct"]), capsize=3, width=0.6,
           color=st.FAMILY_COLORS["transformer"], alpha=0.85, error_kw={"lw": 0.9, "ecolor": st.NEUTRAL})
    ax.axhline(0, color=st.HIGHLIGHT, lw=1, ls="--", label="mean similarity of all classes")
    ax.set_xticks(pos, [f"top {r['x']:g} %\nk̄ = {r['mean_k']:.1f} classes\n{r['pairs']} pairs"
                        for r in df.iter_rows(named=True)])
    # The encoder's name (as long as 'sentence-transformers:all-MiniLM-L6-v2') below the axis, in the
    # label's smaller, regular type: in the bold title it would outgrow the figure.
    ax.set_xlabel(f"classes holding the top X % of positive flips\n(text encoder: {df['encoder'][0]})")
    ax.set_ylabel("similarity relative to all classes [%]")
    ax.set_title("Semantic similarity of top-X % classes")
    ax.legend(loc="upper right")
    return fig


# --------------------------------------------------------------------------------------------------
# §5: transfer
# --------------------------------------------------------------------------------------------------
@register_figure(
    "fig4a", label="Fig. 4a", title="Success rate per student, by transfer method",
    caption="For each student, the share of its teachers whose transfer raised its val accuracy (Δtransf > 0); "
            "one box per method over the students (points: students). Colours: distillation (blue), continual "
            "learning extensions (orange), contrastive distillation (green). Beside each box: the median over "
            "students (the paper's statistic) with its 95 % bootstrap interval over students, and the mean over runs "
            "(diamond).",
    finding="Plain KL distillation succeeds for fewer than 40 % of the teachers for most students (32.5 % overall), "
            "XE-KL slightly above 40 %; XE-KL + MCL reaches 80 % and KL-Dist + DP 92.5 %.",
    needs=[TRANSFER], empty="needs single-teacher transfer runs (stage transfer, view transfer_final)")
def fig4a(df, ctx):
    methods = st.sort_methods(df["method"])
    # The legends beside the boxes take about 2 inches: the boxes get the rest, and at least 3 inches.
    fig, axes = st.subplots(width=max(5.2, 0.62 * len(methods) + 2.2), height=3.4)
    ax = axes[0, 0]
    _success_boxes(ax, df, methods)
    _success_intervals(ax, df, methods)
    ax.set_ylim(-4, 104)
    ax.set_ylabel("success rate\n[% of teachers with Δtransf > 0]")
    n = df.group_by("method").agg(pl.col("teachers").sum())["teachers"]
    students = df["student"].n_unique()
    ax.set_title(f"Transfer success per student\n({students} student{'s' * (students != 1)}, "
                 f"{int(n.max())} run{'s' * (int(n.max()) != 1)} per method)")
    return fig


def _binned_lines(ax, df, legend=True):
    methods = st.sort_methods(df["method"])
    edges = sorted(set(df["bin_lo_pct"]) | set(df["bin_hi_pct"]))
    for e in edges:
        ax.axvline(e, color="#eeeeee", lw=0.8, zorder=0)
    for m in methods:
        rows = _sorted(_rows(df, "method", m), "bin")
        centre = (rows["bin_lo_pct"] + rows["bin_hi_pct"]) / 2
        ax.plot(centre, rows["top25_mean_delta_transf_pct"], marker="o", ms=4, color=st.method_color(m),
                label=st.method_label(m), lw=1.8 if m == "kl_dp" else 1.2, zorder=3 if m == "kl_dp" else 2)
    st.zero_line(ax)
    digits = 0 if len(edges) < 2 or (edges[-1] - edges[0]) / (len(edges) - 1) >= 5 else 1
    labels = [f"{e:.{digits}f}" for e in edges]
    labels = [f"{0:.{digits}f}" if float(t) == 0 else t for t in labels]  # no "-0"
    ax.set_xticks(edges, labels, rotation=0 if len(edges) < 8 else 45)
    ax.set_xlabel(DELTA_ACC.replace(PP, "[pp], bin edges"))
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="method")


@register_figure(
    "fig4b", label="Fig. 4b", title="Transfer delta by binned performance difference",
    caption="Single-teacher runs binned by the teacher-student accuracy difference Δacc (equal-width bins over its "
            "range, edges marked); per bin and method the mean Δtransf of the best 25 % of the runs (the paper's "
            "robust summary), one line per method.",
    finding="Plain distillation loses accuracy with weaker teachers and gains only from much stronger ones; "
            "KL-Dist + DP gives positive transfer from weaker and stronger teachers alike.",
    needs=[TRANSFER], empty="needs single-teacher transfer runs (stage transfer, view transfer_final)")
def fig4b(df, ctx):
    fig, axes = st.subplots(width=st.PAGE_WIDTH, height=3.3)
    ax = axes[0, 0]
    _binned_lines(ax, df)
    ax.set_ylabel(r"$\Delta_{transf}$, mean of top 25 % per bin [pp]")
    ax.set_title(f"Transfer delta by Δacc bin ({int(df['runs'].sum())} runs, {int(df['bins'][0])} bins)")
    return fig


X_LABELS = {100.0: "100\n(all)"}


@register_figure(
    "fig5a", label="Fig. 5a", title="Transfer rate of the top-X % complementary classes, per student family",
    caption="KL-Dist + DP runs: share of the teacher's positive-flip samples that the student gets right after "
            "transfer, within the classes holding the top X % of the positive flips (X = 100: all of them); mean "
            "over the runs of each student family, error bars one standard deviation.",
    finding="Complementary knowledge in the teacher's areas of expertise (small X) is transferred at a much higher "
            "rate than the rest; without such a preference the lines would be flat.",
    needs=[TRANSFER, ("transfer_per_class", "transfer")],
    empty="needs KL-Dist + DP (method kl_dp) transfer runs (stage transfer, views transfer_final, transfer_per_class)")
def fig5a(df, ctx):
    fig, axes = st.subplots(width=5.2, height=3.4)
    ax = axes[0, 0]
    xs = sorted(df["x"].unique())
    pos = {x: i for i, x in enumerate(xs)}
    families = st.sort_families(df["family"])
    offsets = np.linspace(-0.12, 0.12, len(families)) if len(families) > 1 else [0.0]
    for off, fam in zip(offsets, families):
        rows = _sorted(_rows(df, "family", fam), "x")
        ax.errorbar([pos[x] + off for x in rows["x"]], rows["mean_rate_pct"], yerr=_err(rows["std_rate_pct"]),
                    marker=st.family_marker(fam), color=st.family_color(fam), capsize=2.5, lw=1.4, ms=5,
                    label=f"{st.family_label(fam)} ({int(rows['runs'].max())} runs)")
    ax.set_xticks(range(len(xs)), [X_LABELS.get(x, f"{x:g}") for x in xs])
    ax.set_xlabel("classes holding the top X % of positive flips [X, %]")
    ax.set_ylabel("transfer rate [% of positive flips]")
    ax.set_ylim(0, 100)
    ax.set_title("Transfer rate by area of expertise (KL-Dist + DP)")
    ax.legend(title="student family", loc="best")
    return fig


@register_figure(
    "fig5b", label="Fig. 5b", title="Transfer rate vs. student size, per family",
    caption="KL-Dist + DP runs: transfer rate over all classes (share of positive-flip samples the student gets "
            "right after transfer), mean over each student's teachers (error bars: one standard deviation), "
            "against the student's parameter count; lines join students of the same family by size.",
    finding="Larger students receive complementary knowledge better, across families; CNN-style students with "
            "strong visual inductive biases receive it worse than transformers.",
    needs=[TRANSFER, ("transfer_per_class", "transfer")],
    empty="needs KL-Dist + DP (method kl_dp) transfer runs (stage transfer, views transfer_final, transfer_per_class)")
def fig5b(df, ctx):
    fig, axes = st.subplots(width=5.2, height=3.4)
    ax = axes[0, 0]
    for fam in st.sort_families(df["student_family"]):
        rows = _sorted(_rows(df, "student_family", fam), "params_m")
        ax.errorbar(rows["params_m"], rows["mean_rate_pct"], yerr=_err(rows["std_rate_pct"]),
                    marker=st.family_marker(fam), color=st.family_color(fam), capsize=2.5, lw=1.2, ms=6,
                    label=st.family_label(fam))
        for r in rows.iter_rows(named=True):
            ax.annotate(r["student"], (r["params_m"], r["mean_rate_pct"]), xytext=(4, 3), textcoords="offset points",
                        fontsize=6.5, color=st.NEUTRAL)
    ax.set_xscale("log")
    _log_axis(ax.xaxis)
    ax.margins(x=0.12)
    ax.set_xlabel("student parameters [millions, log scale]")
    ax.set_ylabel("transfer rate [% of positive flips]")
    ax.set_title("Transfer rate vs. student size (KL-Dist + DP)")
    ax.legend(title="student family", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


@register_figure(
    "fig6", label="Fig. 6", title="Success rate of contrastive vs. classification-guided distillation and KL-Dist + DP",
    caption="Per student, the share of teachers with positive transfer (Δtransf > 0) for contrastive distillation "
            "(CD, CRD; green), classification-guided XE-KL-Dist (blue) and KL-Dist + DP (orange); boxes over the "
            "students, points: students.",
    finding="Contrastive distillation improves the student for few teachers: it transfers about as much knowledge "
            "but overwrites much more of the student's own; KL-Dist + DP succeeds most often.",
    needs=[TRANSFER], empty="needs transfer runs of method cd, crd, xekl or kl_dp (stage transfer, view transfer_final)")
def fig6(df, ctx):
    methods = [m for m in ("cd", "crd", "xekl", "kl_dp") if m in set(df["method"])]
    fig, axes = st.subplots(ncols=2, width=st.PAGE_WIDTH, height=3.3, gridspec_kw={"width_ratios": [1.1, 1]})
    ax = axes[0, 0]
    _success_boxes(ax, df, methods)
    ax.set_ylim(-4, 104)
    ax.set_ylabel("success rate [% of teachers with Δtransf > 0]")
    ax.set_title("Success rate per student")
    ax = axes[0, 1]
    means = {m: _rows(df, "method", m) for m in methods}
    pos = np.arange(len(methods))
    ax.bar(pos - 0.18, [_mean(means[m]["mean_gain_pct"]) for m in methods], width=0.36,
           color=st.GROUP_COLORS["contrastive"], label="knowledge gain")
    ax.bar(pos + 0.18, [_mean(means[m]["mean_loss_pct"]) for m in methods], width=0.36, color=st.HIGHLIGHT, alpha=0.8,
           label="knowledge loss")
    ax.set_xticks(pos, [st.method_label(m) for m in methods], rotation=25, ha="right")
    ax.set_ylabel("[% of val samples], mean over runs")
    ax.set_title("Gain and loss behind it")
    ax.legend(loc="best")
    return fig


@register_figure(
    "fig7", label="Fig. 7", title="Knowledge gain vs. knowledge loss, KL-Dist vs. KL-Dist + DP",
    caption="Each marker is one (teacher, student) run: the share of val samples the student newly gets right "
            "(knowledge gain) against the share it newly gets wrong (knowledge loss). Colour: student size; marker "
            "shape: teacher family; marker size: teacher accuracy. Above the red diagonal gain = loss the transfer "
            "is positive.",
    finding="KL-Dist + DP moves most pairs above the diagonal, including weak teachers, which plain KL distillation "
            "leaves below it: distillation overwrites rather than adds knowledge.",
    needs=[TRANSFER], empty="needs transfer runs of method kl or kl_dp (stage transfer, view transfer_final)")
def fig7(df, ctx):
    import matplotlib.lines as mlines

    methods = [m for m in ("kl", "kl_dp") if m in set(df["method"])]
    fig, axes = st.subplots(ncols=len(methods), width=st.PAGE_WIDTH if len(methods) == 2 else 4.0, height=3.9,
                            sharex=True, sharey=True)
    hi = float(np.nanmax([df["gain_pct"].to_numpy(), df["loss_pct"].to_numpy()])) * 1.08 or 1.0
    params = df["student_params_m"].fill_nan(None)
    norm = _lognorm(params.fill_null(params.median() if params.null_count() < len(params) else 1))
    acc = df["teacher_acc_pct"]
    df = df.with_columns(size=12 + 70 * (acc - acc.min()) / ((acc.max() - acc.min()) or 1))
    sc = None
    for ax, m in zip(axes[0], methods):
        rows = _rows(df, "method", m)
        for fam in st.sort_families(rows["teacher_family"]):
            sub = _rows(rows, "teacher_family", fam)
            sc = ax.scatter(sub["loss_pct"], sub["gain_pct"], c=sub["student_params_m"], cmap="viridis", norm=norm,
                            s=sub["size"], marker=st.family_marker(fam), alpha=0.85, edgecolor="black", lw=0.3)
        ax.plot([0, hi], [0, hi], color=st.HIGHLIGHT, lw=1.3, label="gain = loss")
        above = int((rows["gain_pct"] > rows["loss_pct"]).sum())
        ax.set_title(f"{st.method_label(m)}\n{above} of {len(rows)} runs above the diagonal", fontsize=8.5)
        ax.set_xlim(0, hi)
        ax.set_ylim(0, hi)
        ax.set_xlabel("knowledge loss [% of val samples]")
    axes[0, 0].set_ylabel("knowledge gain [% of val samples]")
    cbar = fig.colorbar(sc, ax=axes[0].tolist(), label="student parameters [M]", pad=0.01, shrink=0.9)
    if cbar.norm.__class__.__name__ == "LogNorm":
        _log_axis(cbar.ax.yaxis)
    handles = [mlines.Line2D([], [], color=st.HIGHLIGHT, lw=1.3, label="gain = loss")]
    handles += [mlines.Line2D([], [], ls="", marker=st.family_marker(f), color="#999999", mec="black", mew=0.3,
                              label=f"teacher: {st.family_label(f)}") for f in st.sort_families(df["teacher_family"])]
    extremes = ((12, acc.min()), (82, acc.max())) if acc.max() - acc.min() >= 0.5 else ((12, acc.min()),)
    handles += [mlines.Line2D([], [], ls="", marker="o", color="#cccccc", mec="black", mew=0.3, ms=math.sqrt(s),
                              label=f"teacher acc. {a:.0f} %") for s, a in extremes]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), fontsize=7)
    return fig


@register_figure(
    "fig8", label="Fig. 8", title="Transfer delta vs. student accuracy, size and family",
    caption="KL-Dist + DP: each marker is one student, its mean Δtransf over its teachers (error bars: one standard "
            "deviation), against (a) its accuracy, (b) its parameter count, (c) its family. In (a) and (b) lines "
            "join students of the same architecture family, which differ mainly in the plotted property.",
    finding="Student capacity, more than initial accuracy, goes with receiving knowledge without overwriting; CNNs "
            "(strong visual inductive biases) gain less than transformers, and scale helps CNNs most.",
    needs=[TRANSFER], empty="needs KL-Dist + DP (method kl_dp) transfer runs (stage transfer, view transfer_final)")
def fig8(df, ctx):
    fig, axes = st.subplots(ncols=3, width=st.PAGE_WIDTH, height=2.9, sharey=True)
    for ax, (col, label, log) in zip(axes[0], (("student_acc_pct", "student accuracy [%]", False),
                                               ("params_m", "student parameters [M, log scale]", True))):
        lines = df.with_columns(line=pl.coalesce("student_arch_family", "student"))
        for _, rows in sorted(lines.partition_by("line", as_dict=True, maintain_order=True).items()):
            rows = _sorted(rows, col)
            if len(rows) > 1:
                ax.plot(rows[col], rows["mean_delta_transf_pct"], color="#bbbbbb", lw=0.9, zorder=1)
        for fam in st.sort_families(df["student_family"]):
            rows = _rows(df, "student_family", fam)
            ax.errorbar(rows[col], rows["mean_delta_transf_pct"], yerr=_err(rows["std_delta_transf_pct"]), ls="",
                        marker=st.family_marker(fam), color=st.family_color(fam), capsize=2, ms=5,
                        label=st.family_label(fam), zorder=3)
        if log:
            ax.set_xscale("log")
            _log_axis(ax.xaxis)
        ax.set_xlabel(label)
        st.zero_line(ax)
    axes[0, 0].set_title("(a) accuracy", fontweight="normal")
    axes[0, 1].set_title("(b) size", fontweight="normal")
    axes[0, 0].set_ylabel(r"$\Delta_{transf}$, mean over teachers [pp]")
    axes[0, 0].legend(loc="best", title="family")
    ax = axes[0, 2]
    fams = st.sort_families(df["student_family"])
    for i, fam in enumerate(fams):
        rows = _rows(df, "student_family", fam)
        ax.bar(i, _mean(rows["mean_delta_transf_pct"]), width=0.6, color=st.family_color(fam), alpha=0.5)
        ax.scatter(i + _jitter(len(rows), 0.12, i), rows["mean_delta_transf_pct"], color=st.family_color(fam),
                   marker=st.family_marker(fam), s=18, zorder=3, edgecolor="white", lw=0.4)
    ax.set_xticks(range(len(fams)), [st.family_label(f) for f in fams])
    ax.set_xlabel("student family (bar: mean)")
    ax.set_title("(c) family", fontweight="normal")
    st.zero_line(ax)
    fig.suptitle("Student properties and transfer (KL-Dist + DP)", fontsize=9.5, fontweight="bold")
    return fig


@register_figure(
    "fig9", label="Fig. 9", title="Transfer delta by binned performance difference on other datasets",
    caption="Fig. 4b for every dataset in the database (its own results and those added with "
            "`gkt db --extra-results`): per equal-width Δacc bin and method, the mean Δtransf of the best 25 % runs.",
    finding="On other datasets (CUB200, Caltech256, Stanford Cars) KL-Dist + DP again transfers from weaker teachers "
            "without losing accuracy and keeps the gains from stronger ones.",
    needs=[("transfer_datasets", "transfer")], empty="needs single-teacher transfer runs of two or more datasets",
    condition="SELECT count(DISTINCT dataset) >= 2 FROM transfer_datasets",
    condition_reason="needs transfer results of a second dataset: build the database with "
                     "`gkt db --results results/<dataset> --extra-results results/<other dataset>`")
def fig9(df, ctx):
    datasets = sorted(set(df["dataset"]), key=lambda d: (d != ctx.dataset, d))  # this database's dataset first
    fig, axes = st.subplots(ncols=len(datasets), width=st.PAGE_WIDTH, height=3.0, sharey=True)
    handles = {}
    for i, (ax, ds) in enumerate(zip(axes[0], datasets)):
        _binned_lines(ax, _rows(df, "dataset", ds), legend=False)
        ax.set_title(f"({chr(97 + i)}) {ds}", fontweight="normal")
        ax.set_xlabel("Δacc [pp], bin edges")
        handles.update({h.get_label(): h for h in ax.get_lines() if not h.get_label().startswith("_")})
    axes[0, 0].set_ylabel(r"$\Delta_{transf}$, mean of top 25 % per bin [pp]")
    order = [st.method_label(m) for m in st.sort_methods(df["method"])]
    fig.legend([handles[k] for k in order if k in handles], [k for k in order if k in handles],
               loc="outside right upper", title="method")
    return fig


@register_figure(
    "fig10", label="Fig. 10", title="Transfer from a domain-shifted teacher",
    caption="Transfer delta of each run whose teacher was made for another dataset than the student (its zoo "
            "record names another dataset), KL-Dist vs. KL-Dist + DP.",
    finding="Under domain shift plain KL distillation hurts the student, while KL-Dist + DP still transfers "
            "knowledge without losing accuracy.",
    needs=[TRANSFER], empty="needs runs of method kl or kl_dp with a domain-shifted teacher",
    condition="SELECT count(*) > 0 FROM transfer_final WHERE teacher_domain_shifted",
    condition_reason="needs a domain-shifted teacher: a transfer run whose teacher's zoo record names another "
                     "dataset than the student's (view transfer_final, column teacher_domain_shifted)")
def fig10(df, ctx):
    df = df.with_columns(pair=pl.concat_str("student", pl.lit(" ← "), "teacher", pl.lit("\n("),
                                            pl.col("teacher_dataset").fill_null("?"), pl.lit(")")))
    pairs = list(dict.fromkeys(df["pair"]))
    methods = [m for m in ("kl", "kl_dp") if m in set(df["method"])]
    fig, axes = st.subplots(width=max(4.2, 0.9 * len(pairs) + 1.5), height=3.3)
    ax = axes[0, 0]
    w = 0.8 / len(methods)
    for j, m in enumerate(methods):
        delta = dict(_rows(df, "method", m).select("pair", "delta_transf_pct").iter_rows())
        heights = np.array([delta.get(p) for p in pairs], dtype=float)  # NaN: no run of the method for the pair
        ax.bar(np.arange(len(pairs)) + (j - (len(methods) - 1) / 2) * w, heights, width=w,
               color=st.method_color(m), label=st.method_label(m))
    st.zero_line(ax)
    ax.set_xticks(range(len(pairs)), pairs, rotation=30 if len(pairs) > 4 else 0, ha="right" if len(pairs) > 4 else "center",
                  fontsize=7)
    ax.set_ylabel(DELTA_TRANSF)
    ax.set_title("Transfer from domain-shifted teachers")
    ax.legend(loc="best")
    return fig


@register_figure(
    "fig11", label="Fig. 11", title="Sequential multi-teacher transfer over the epochs",
    caption="Knowledge gain, knowledge loss and transfer delta (all in % of the val samples, against the initial "
            "student) over the chained epochs of sequential multi-teacher transfer; dotted lines mark where the "
            "next teacher takes over (equal budget per teacher assumed).",
    finding="Each further teacher adds gain, with diminishing returns: knowledge loss grows steadily as the student "
            "moves away from its pretrained weights, yet the final delta beats the best single teacher.",
    needs=[("transfer_metrics", "transfer")],
    empty="needs sequential multi-teacher runs (mode sequential, stage transfer, view transfer_metrics)")
def fig11(df, ctx):
    runs = list(dict.fromkeys(df["run"]))[:6]
    ncols = min(len(runs), 2)
    nrows = math.ceil(len(runs) / ncols)
    fig, axes = st.subplots(ncols=ncols, nrows=nrows, width=st.PAGE_WIDTH if ncols > 1 else 4.8, height=3.0 * nrows)
    for ax in axes.ravel()[len(runs):]:
        ax.set_visible(False)
    series = (("gain_pct", "knowledge gain", st.GROUP_COLORS["contrastive"]),
              ("loss_pct", "knowledge loss", st.HIGHLIGHT),
              ("delta_transf_pct", "transfer delta", "black"))
    for ax, run in zip(axes.ravel(), runs):
        rows = _sorted(_rows(df, "run", run), "epoch")
        first = rows.row(0, named=True)
        for col, label, c in series:
            ax.plot(rows["epoch"], rows[col], color=c, label=label, marker="o", ms=2.5, lw=1.5)
        k, total = int(first["n_teachers"]), int(first["epochs"])
        for step in range(1, k):
            ax.axvline(step * total / k, color=st.NEUTRAL, ls=":", lw=1)
        st.zero_line(ax)
        ax.set_title(st.wrap(f"{st.method_label(first['method'])}: {first['student']} ← "
                             f"{first['teacher'].replace('+', ' + ')}", st.PAGE_WIDTH / ncols - 0.6, 8),
                     fontweight="normal", fontsize=8)
        ax.set_xlabel(f"epoch ({k} teachers, {total} epochs)")
        ax.set_ylabel("[% of val samples]")
    axes.ravel()[0].legend(loc="upper left")
    fig.suptitle("Sequential multi-teacher transfer", fontsize=9.5, fontweight="bold")
    return fig


# --------------------------------------------------------------------------------------------------
# gkt's own, beyond the paper: all pairs and the teacher ranking (docs/method.md#teacher-ranking)
# --------------------------------------------------------------------------------------------------
RANKING = ("teacher_ranking", "recommend")


NAMED_MODELS = 40  # up to this many models the matrix names each one; beyond, it labels family bands


@register_figure(
    "zoo_rho_pos", label="Zoo ρ_pos", title="Complementary knowledge of every pair of the zoo",
    caption="ρ_pos (positive flips of the teacher over the student, in % of the val samples) of every ordered pair "
            "of zoo models; rows: students, columns: teachers, both ordered by family, then by val accuracy "
            "(highest first), random-init controls last and as teachers only. Lines separate the families; dots "
            "mark the pairs of the sampled study (view pairs, the population of Fig. 1) when it is not all pairs. "
            f"A zoo of more than {NAMED_MODELS} models is labelled by family bands (bands too narrow for a label "
            "stay unlabelled), and a second panel gives each (student family, teacher family) block's mean ρ_pos.",
    finding="Not in the paper. Its §3 premise seen whole: every teacher, weaker ones included, holds complementary "
            "knowledge for every student; columns of strong teachers and rows of weak students are brightest.",
    needs=[("all_pairs", "all_pairs")], empty="needs the all-pairs statistics (stage all_pairs, view all_pairs)")
def zoo_rho_pos(df, ctx):
    # Family, then accuracy, rather than a clustering order: each axis keeps a meaning (within a band, the
    # strongest model first), so the paper's reading (strong teachers' columns and weak students' rows are
    # brightest) shows at any zoo size, and the order does not change when a model is added.
    rows_ = df.unique("student_pos").sort("student_pos")
    cols_ = df.unique("teacher_pos").sort("teacher_pos")
    students, teachers = rows_["student"].to_list(), cols_["teacher"].to_list()
    s_index, t_index = {m: i for i, m in enumerate(students)}, {m: i for i, m in enumerate(teachers)}
    matrix = np.full((len(students), len(teachers)), np.nan)  # the diagonal stays empty
    matrix[[s_index[s] for s in df["student"]], [t_index[t] for t in df["teacher"]]] = df["rho_pos_pct"].to_numpy()
    named = len(teachers) <= NAMED_MODELS
    if named:
        names = 0.05 * max(map(len, teachers + students))  # inches of the longest name at 6 pt
        side = min(st.PAGE_WIDTH - 1.2 - names, 1.4 + 0.14 * len(teachers))
        fig, axes = st.subplots(width=side + 1.2 + names, height=side * len(students) / len(teachers) + 0.7 + names)
        ax = axes[0, 0]
    else:
        fig, axes = st.subplots(ncols=2, width=st.PAGE_WIDTH, height=4.9, gridspec_kw={"width_ratios": [2.2, 1]})
        ax = axes[0, 0]
    im = ax.imshow(matrix, cmap="viridis", interpolation="nearest", aspect="auto")
    study = df.filter(pl.col("in_study"))
    if 0 < study.height < df.height and len(teachers) <= 60:
        ax.scatter([t_index[t] for t in study["teacher"]], [s_index[s] for s in study["student"]], s=3,
                   color="white", alpha=0.8, lw=0)
    for axis, families, line in ((ax.xaxis, cols_["teacher_family"].to_list(), ax.axvline),
                                 (ax.yaxis, rows_["student_family"].to_list(), ax.axhline)):
        names = teachers if axis is ax.xaxis else students
        bounds = [i for i in range(1, len(families)) if families[i] != families[i - 1]]
        for b in bounds:
            line(b - 0.5, color="white", lw=0.8)
        if named:
            axis.set_ticks(range(len(names)), names, fontsize=6, rotation=90 if axis is ax.xaxis else 0)
            for label, fam in zip(axis.get_ticklabels(), families):
                label.set_color(st.family_color(fam))
        else:  # one label per family band wide enough to hold it without touching its neighbours' labels
            bands = [(a, b) for a, b in zip([0, *bounds], [*bounds, len(names)]) if b - a >= 0.04 * len(names)]
            axis.set_ticks([(a + b - 1) / 2 for a, b in bands], [st.family_label(families[a]) for a, _ in bands],
                           rotation=90 if axis is ax.xaxis else 0)
    ax.grid(False)
    order = "by family, then accuracy, highest first"
    ax.set_xlabel("teacher" if named else f"{len(teachers)} teachers, {order}")
    ax.set_ylabel("student" if named else f"{len(students)} students, {order}")
    if named:
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label=r"$\rho_{pos}$ [% of val samples]")
        return fig
    _family_means(axes[0, 1], df, list(dict.fromkeys(rows_["student_family"])),
                  list(dict.fromkeys(cols_["teacher_family"])), im.norm)
    fig.colorbar(im, ax=axes[0].tolist(), location="bottom", shrink=0.6, aspect=40, pad=0.02,
                 label=r"$\rho_{pos}$ [% of val samples]")
    return fig


def _family_means(ax, df, s_fams, t_fams, norm):
    """The mean ρ_pos of each (student family, teacher family) block, in the matrix's order of families, written
    in its cell, on the matrix's colour scale."""
    means = np.full((len(s_fams), len(t_fams)), np.nan)
    for s, t, v in df.unique(["student_family", "teacher_family"]).select(
            "student_family", "teacher_family", "family_mean_pct").iter_rows():
        means[s_fams.index(s), t_fams.index(t)] = v
    ax.imshow(means, cmap="viridis", norm=norm, aspect="auto")
    for (i, j), v in np.ndenumerate(means):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7,
                    color="black" if norm(v) > 0.6 else "white")
    ax.set_xticks(range(len(t_fams)), [st.family_label(f) for f in t_fams], rotation=90)
    ax.set_yticks(range(len(s_fams)), [st.family_label(f) for f in s_fams])
    ax.grid(False)
    ax.set_xlabel("teacher family")
    ax.set_ylabel("student family")
    ax.set_title("mean per family block", fontweight="normal")


def _against_measured(df, x: str):
    """Each student's measured KL+DP runs, `x` against measured_pp, one colour per student, its `is_top`
    pick ringed, the students' legend to the right: (figure, axes)."""
    fig, axes = st.subplots(width=5.2, height=3.6)
    ax = axes[0, 0]
    students = list(dict.fromkeys(df["student"]))
    colors = {s: (list(st.FAMILY_COLORS.values()) + st.EXTRA_COLORS)[i % 10] for i, s in enumerate(students)}
    for s in students:
        rows = _rows(df, "student", s)
        ax.scatter(rows[x], rows["measured_pp"], s=22, color=colors[s], edgecolor="white", lw=0.4, label=s, zorder=3)
        top = rows.filter(pl.col("is_top"))
        ax.scatter(top[x], top["measured_pp"], s=70, facecolor="none", edgecolor=colors[s], lw=1.1, zorder=2)
    st.zero_line(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="student", fontsize="small")
    return fig, ax


@register_figure(
    "ranking_fit", label="Ranking fit", title="Predicted vs. measured KL+DP transfer delta, leave one student out",
    caption="Each point is one measured KL-Dist + DP run: its transfer delta predicted before transfer from the pair's "
            "ρ_pos, ρ_neg and DP routing share by a least-squares fit on the other students' runs only, against the "
            "measured delta, in pp; colour: student; ringed: the teacher ranked first among the student's measured "
            "teachers. Dashed: predicted = measured.",
    finding="Not in the paper. A useful ranking orders each student's points from left to right as from bottom to top; "
            "the spread along the diagonal shows how well the level is predicted too.",
    needs=[RANKING], empty="needs fitted rankings of students with measured KL+DP runs (stage recommend; too few "
                           "runs to fit: see the validation table)")
def ranking_fit(df, ctx):
    fig, ax = _against_measured(df, "predicted_pp")
    lo = float(min(df["predicted_pp"].min(), df["measured_pp"].min()))
    hi = float(max(df["predicted_pp"].max(), df["measured_pp"].max()))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ls="--", color=st.NEUTRAL, lw=1)
    ax.set_xlabel(r"predicted $\Delta_{transf}$ [pp]" + "\n(fit without the student's runs)")
    ax.set_ylabel(r"measured $\Delta_{transf}$ [pp]")
    return fig


@register_figure(
    "probe_fit", label="Probe fit", title="Probe vs. measured KL+DP transfer delta",
    caption="Each point is one measured KL-Dist + DP run: the transfer delta of its probe (the same run for a tenth of "
            "the epochs by default, read on held-out train images, never on val) against the full run's measured "
            "delta on val, in pp; colour: student; ringed: the teacher whose probe ranks first among the student's "
            "measured teachers.",
    finding="Not in the paper. A useful probe orders each student's points from left to right as from bottom to top "
            "(the validation table gives its Spearman correlation, top-1 hits and regret beside the other rankers).",
    needs=[RANKING, ("recommend_probes", "probe")],
    empty="needs probes of students with measured KL+DP runs (config recommend.probe, stage probe)")
def probe_fit(df, ctx):
    fig, ax = _against_measured(df, "probe_pp")
    ax.axvline(0, color=st.NEUTRAL, lw=0.8, zorder=1)
    ax.set_xlabel(r"probe $\Delta_{transf}$ [pp]" + "\n(held-out train images)")
    ax.set_ylabel(r"measured $\Delta_{transf}$ [pp] (val)")
    return fig
