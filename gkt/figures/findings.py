"""The paper's findings, each computed on this run's results with its 95 % interval and decided by one
rule (docs/method.md#findings): `findings.md` / `findings.csv` beside the figures, linked from
index.html, rebuilt with them (`gkt figures`, `gkt findings`).

The rule. Each finding is a claim about a quantity whose null value is known (a difference of zero,
a share of one half, a correlation of zero). **reproduced**: the estimate lies on the paper's side of
the null and its 95 % bootstrap interval excludes the null; **not reproduced**: otherwise (the row
says whether the interval lies on the other side, "contradicted", or includes the null,
"inconclusive"); **not testable here**: the results hold too few runs or students to estimate it, or
the data cannot express it (the reason is given). Intervals are percentile bootstraps (2,000
resamples, seed 0) over the unit named in the row: students (whose runs share val errors) or pairs.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from gkt.figures.summary import BOOTSTRAP, SEED


@dataclasses.dataclass(frozen=True)
class Finding:
    id: str
    source: str  # where the paper shows it
    claim: str  # what the paper claims, as a testable statement
    paper: str  # the paper's number
    unit: str  # what is resampled
    compute: Callable  # con -> (estimate, list of per-unit values or None, formatter) or a str reason


@dataclasses.dataclass
class Estimate:
    """A statistic of per-unit rows: `stat(rows)` on the rows and on bootstrap resamples of them."""

    rows: np.ndarray  # [units, ...]
    stat: Callable[[np.ndarray], float]
    fmt: str = "{:+.2f}"
    null: float = 0.0
    side: int = 1  # +1: the paper's claim is estimate > null; -1: estimate < null
    minimum: int = 3  # fewer units than this: not testable

    def __post_init__(self):
        # The units in a fixed order (their values sorted), so that neither the estimate's float sum nor
        # the bootstrap's resamples depend on the order a query or a group-by returned them in.
        rows = np.asarray(self.rows)
        self.rows = np.sort(rows) if rows.ndim == 1 else rows[np.lexsort(rows.T[::-1])] if len(rows) else rows

    def interval(self) -> tuple[float, float]:
        rng = np.random.default_rng(SEED)
        idx = rng.integers(0, len(self.rows), size=(BOOTSTRAP, len(self.rows)))
        boot = np.array([self.stat(self.rows[i]) for i in idx])
        boot = boot[np.isfinite(boot)]
        return tuple(np.percentile(boot, [2.5, 97.5])) if len(boot) else (np.nan, np.nan)


_FINDINGS: list[Finding] = []


def finding(id, source, claim, paper, unit):
    def wrap(fn):
        _FINDINGS.append(Finding(id, source, claim, paper, unit, fn))
        return fn
    return wrap


def _q(con, sql: str) -> pl.DataFrame:
    from gkt.db.read import frame

    return frame(con, sql)


def _single(con) -> pl.DataFrame:
    return _q(con, "SELECT * FROM transfer_in_domain")


def _per_student(df: pl.DataFrame, method: str, value: pl.Expr) -> pl.DataFrame:
    return df.filter(pl.col("method") == method).group_by("student").agg(value.alias("v"))


def _paired(df: pl.DataFrame, a: str, b: str, value: pl.Expr) -> np.ndarray:
    """Per student: value under method a, under method b (students with both)."""
    x, y = _per_student(df, a, value), _per_student(df, b, value)
    both = x.join(y, on="student", suffix="_b")
    return both.select("v", "v_b").to_numpy().astype(float)


SUCCESS = (pl.col("delta_transf") > 0).mean() * 100


def _median_success(rows):
    return float(np.median(rows))


@finding("F1", "Fig. 1a, §3", "Teachers weaker than the student still hold complementary knowledge: ρ_pos of "
         "teachers with Δacc < 0 exceeds the random-init control's for the same student",
         "ρ_pos of weaker teachers several %, the control's ~0", "students")
def _f1(con):
    p = _q(con, "SELECT student, teacher_is_control, delta_acc, rho_pos FROM pairs")
    weak = p.filter(~pl.col("teacher_is_control") & (pl.col("delta_acc") < 0)).group_by("student").agg(
        pl.col("rho_pos").mean().alias("w"))
    ctl = p.filter(pl.col("teacher_is_control")).group_by("student").agg(pl.col("rho_pos").mean().alias("c"))
    rows = weak.join(ctl, on="student").select((pl.col("w") - pl.col("c")) * 100).to_numpy()[:, 0]
    if len(rows) == 0:
        return "needs pairs with weaker teachers and a random-init control"
    return Estimate(rows, lambda r: float(r.mean()), "{:+.2f} pp")


@finding("F2", "Fig. 1b", "Weaker teachers' complementary knowledge is concentrated in fewer classes: the "
         "entropy of the per-class flip distribution rises with Δacc (rank correlation > 0)",
         "entropy lower for weaker teachers", "pairs")
def _f2(con):
    p = _q(con, "SELECT delta_acc, entropy_norm FROM pairs WHERE NOT teacher_is_control AND rho_pos > 0")
    rows = p.drop_nulls().to_numpy().astype(float)
    if len(rows) < 10:
        return "needs at least 10 pairs with positive flips"

    def spearman(r):
        a, b = (np.argsort(np.argsort(r[:, i])) for i in (0, 1))
        return float(np.corrcoef(a, b)[0, 1])
    return Estimate(rows, spearman, "{:+.2f}")


@finding("F3", "Fig. 4a", "KL-Dist + DP succeeds for more teachers than plain KL-Dist: per student, success "
         "rate of kl_dp minus that of kl (mean over students)", "92.5 % vs 32.5 % (medians)", "students")
def _f3(con):
    rows = _paired(_single(con), "kl_dp", "kl", SUCCESS)
    return Estimate(rows[:, 0] - rows[:, 1], lambda r: float(r.mean()), "{:+.1f} pp") if len(rows) else \
        "needs kl and kl_dp runs of the same students"


@finding("F4", "Fig. 4a, Tab. 1", "KL-Dist + DP transfers positively for most teachers: the median over students "
         "of the success rate exceeds 50 %", "median 92.5 %", "students")
def _f4(con):
    rows = _per_student(_single(con), "kl_dp", SUCCESS)["v"].to_numpy().astype(float)
    return Estimate(rows, _median_success, "{:.1f} %", null=50.0) if len(rows) else "needs kl_dp runs"


@finding("F5", "Fig. 4a", "Plain KL-Dist fails for most teachers: the median over students of its success rate "
         "is below 50 %", "median 32.5 %", "students")
def _f5(con):
    rows = _per_student(_single(con), "kl", SUCCESS)["v"].to_numpy().astype(float)
    return Estimate(rows, _median_success, "{:.1f} %", null=50.0, side=-1) if len(rows) else "needs kl runs"


@finding("F6", "Fig. 4b", "KL-Dist loses accuracy when distilling from weaker teachers: mean Δtransf of kl runs "
         "with Δacc < 0 is negative", "negative for weaker teachers", "students")
def _f6(con):
    df = _single(con).filter(pl.col("delta_acc") < 0)
    rows = _per_student(df, "kl", pl.col("delta_transf").mean() * 100)["v"].to_numpy().astype(float)
    return Estimate(rows, lambda r: float(r.mean()), "{:+.2f} pp", side=-1) if len(rows) else \
        "needs kl runs from weaker teachers"


@finding("F7", "Fig. 4b", "KL-Dist + DP gains even from weaker teachers: mean Δtransf of kl_dp runs with "
         "Δacc < 0 is positive", "positive for weaker teachers", "students")
def _f7(con):
    df = _single(con).filter(pl.col("delta_acc") < 0)
    rows = _per_student(df, "kl_dp", pl.col("delta_transf").mean() * 100)["v"].to_numpy().astype(float)
    return Estimate(rows, lambda r: float(r.mean()), "{:+.2f} pp") if len(rows) else \
        "needs kl_dp runs from weaker teachers"


@finding("F8", "Fig. 7, Tab. 8", "DP protects the student's own knowledge: per student, the knowledge loss of kl "
         "minus that of kl_dp is positive", "KL+DP forgets far less", "students")
def _f8(con):
    rows = _paired(_single(con), "kl", "kl_dp", pl.col("loss").mean() * 100)
    return Estimate(rows[:, 0] - rows[:, 1], lambda r: float(r.mean()), "{:+.2f} pp") if len(rows) else \
        "needs kl and kl_dp runs of the same students"


@finding("F9", "Tab. 3", "Unsupervised DP is comparable to supervised DP or better: per student, mean Δtransf "
         "of kl_dp_unsup minus kl_dp is not below zero (interval includes or exceeds 0 counts as reproduced)",
         "comparable", "students")
def _f9(con):
    rows = _paired(_single(con), "kl_dp_unsup", "kl_dp", pl.col("delta_transf").mean() * 100)
    if not len(rows):
        return "needs kl_dp and kl_dp_unsup runs of the same students"
    return Estimate(rows[:, 0] - rows[:, 1], lambda r: float(r.mean()), "{:+.2f} pp", side=0)


@finding("F10", "Fig. 6", "Contrastive distillation succeeds for fewer teachers than KL-Dist + DP: per student, "
         "success rate of kl_dp minus the mean of cd and crd", "CD/CRD below KL+DP", "students")
def _f10(con):
    df = _single(con)
    con_rows = df.filter(pl.col("method").is_in(["cd", "crd"])).group_by("student").agg(SUCCESS.alias("c"))
    dp = _per_student(df, "kl_dp", SUCCESS)
    rows = dp.join(con_rows, on="student").select(pl.col("v") - pl.col("c")).to_numpy()[:, 0]
    return Estimate(rows, lambda r: float(r.mean()), "{:+.1f} pp") if len(rows) else \
        "needs cd/crd and kl_dp runs of the same students"


@finding("F11", "Tab. 4, Fig. 11", "Sequential multi-teacher KL-Dist + DP beats the best single teacher of its "
         "set: Δtransf(sequential) − Δtransf(best single), per run's normal interval", "+59 % of the best single delta",
         "runs (normal interval from the runs' standard errors)")
def _f11(con):
    from gkt.figures.registry import use_shared

    use_shared(con, "multi_vs_single")
    rows = _q(con, """
        SELECT s.delta_transf_pct - b.delta_transf_pct AS d, sqrt(s.se_pct ^ 2 + b.se_pct ^ 2) AS se
        FROM multi_vs_single s JOIN multi_vs_single b USING (method, student, teachers)
        WHERE s.method = 'kl_dp' AND s.variant = 'sequential' AND b.variant = 'best_single'
        ORDER BY student, teachers""")
    if rows.height == 0:
        return "needs a sequential kl_dp multi-teacher run and its single-teacher runs"
    return ("normal", float(rows["d"].mean()), float(np.sqrt((rows["se"] ** 2).sum())) / rows.height, "{:+.2f} pp")


def _verdict(est: float, lo: float, hi: float, null: float, side: int) -> str:
    if side == 0:  # "not worse": the interval must not lie entirely below the null
        return "reproduced" if hi >= null else "not reproduced (contradicted)"
    above, below = lo > null, hi < null
    if (side > 0 and above) or (side < 0 and below):
        return "reproduced"
    if (side > 0 and below) or (side < 0 and above):
        return "not reproduced (contradicted)"
    return "not reproduced (inconclusive)"


def compute_findings(con) -> pl.DataFrame:
    out = []
    for f in _FINDINGS:
        row = {"id": f.id, "source": f.source, "claim": f.claim, "paper": f.paper, "unit": f.unit}
        try:
            got = f.compute(con)
        except Exception as e:  # a view this run does not have
            got = f"needs results this run does not have ({' '.join(str(e).split())[:120]})"
        if isinstance(got, str):
            row.update(estimate=None, lo=None, hi=None, n=0, here="–", verdict=f"not testable here: {got}")
        elif isinstance(got, tuple):  # a normal interval from the runs' own standard errors
            _, est, se, fmt = got
            lo, hi = est - 1.96 * se, est + 1.96 * se
            row.update(estimate=est, lo=lo, hi=hi, n=1, here=f"{fmt.format(est)} [{fmt.format(lo)}, {fmt.format(hi)}]",
                       verdict=_verdict(est, lo, hi, 0.0, 1))
        elif len(got.rows) < got.minimum:
            row.update(estimate=None, lo=None, hi=None, n=len(got.rows), here="–",
                       verdict=f"not testable here: {len(got.rows)} {f.unit.split()[0]}, fewer than {got.minimum}")
        else:
            est = got.stat(got.rows)
            lo, hi = got.interval()
            row.update(estimate=est, lo=lo, hi=hi, n=len(got.rows),
                       here=f"{got.fmt.format(est)} [{got.fmt.format(lo)}, {got.fmt.format(hi)}]",
                       verdict=_verdict(est, lo, hi, got.null, got.side))
        out.append(row)
    return pl.DataFrame(out, schema_overrides={"estimate": pl.Float64, "lo": pl.Float64, "hi": pl.Float64})


def findings_markdown(df: pl.DataFrame, dataset: str) -> str:
    rule = __doc__.split("The rule. ", 1)[1].strip()
    lines = [f"# The paper's findings on `{dataset}`", "", rule, "",
             "| | paper | claim | paper's number | here [95 % interval] | n | verdict |", "|---|---|---|---|---|---|---|"]
    for r in df.iter_rows(named=True):
        lines.append(f"| {r['id']} | {r['source']} | {r['claim']} | {r['paper']} | {r['here']} | "
                     f"{r['n']} {r['unit'].split()[0]} | {r['verdict']} |")
    counts = df.group_by(pl.col("verdict").str.extract(r"^(reproduced|not reproduced|not testable here)")).len()
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.iter_rows()))
    return "\n".join(lines + ["", f"Summary: {summary}.", ""])


def write_findings(con, out_dir: Path, dataset: str) -> pl.DataFrame:
    from gkt.text import csv_text
    from gkt.io import write_text

    df = compute_findings(con)
    write_text(findings_markdown(df, dataset), Path(out_dir) / "findings.md")
    write_text(csv_text(df), Path(out_dir) / "findings.csv")
    return df
